# The request core's layers (issue 15): a check that it has no dependency
# cycle, and the unit test of ctx.c.

# tools/cycles.py reads the runtime's objects with nm (binutils, see
# export.mk) and fails when one of these files is on a cycle of calls or
# includes: the circle issue 15 found, now broken by hooks (ctx_on_free,
# error_page_hook) and files below both sides (arena.c, db_result.c).
CYCLE_FREE = crash ctx db error form json response router task trace
TEST_COMMAND_PACKAGES += python3:python3
TEST_BINS += $(RUNTIME_SAN)
cycles_empty :=
cycles_list = $(subst $(cycles_empty) $(cycles_empty),$(cycles_comma),$(strip $(1)))
cycles_comma := ,
TEST_CMDS += tools/cycles.py@--self-test
TEST_CMDS += tools/cycles.py@--forbid@$(call cycles_list,$(CYCLE_FREE))@runtime@build/san/runtime

# ctx.c alone: cleanups at the request's end, the one reject, headers
build/test_ctx: tests/test_ctx.c tests/api_test.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_ctx
TEST_CMDS += build/test_ctx
