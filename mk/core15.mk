RUNTIME += runtime/arena.c
