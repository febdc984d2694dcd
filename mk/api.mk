# request/response API: runtime/form.c (forms), json.c (JSON), cookie.c, and
# the seeded fuzz test over every request-parsing path
API_TESTS = build/test_form build/test_json build/test_cookie build/test_fuzz
$(API_TESTS): build/test_%: tests/test_%.c tests/api_test.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += $(API_TESTS)
TEST_CMDS += build/test_form build/test_json build/test_cookie build/test_fuzz
