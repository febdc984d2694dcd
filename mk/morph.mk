# Morphing live reload (issue 21): a save refetches the pages it concerns and
# morphs them in place (devserver/overlay.js, morph.js; handshake in livereload.c);
# tests/browser/morph.mjs and fallback.mjs, sharing tests/browser/pages.mjs.
BROWSER_TESTS += morph fallback
TEST_CMDS += env@COTDEV=build/cotdev-san@node@tests/browser/morph.mjs
