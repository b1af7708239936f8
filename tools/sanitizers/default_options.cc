// Default runtime options of the sanitizers, linked into every executable of a sanitizer build
// (see PARLEY_SANITIZE in CMakeLists.txt). The runtimes call these hooks before main(), and
// ASAN_OPTIONS, UBSAN_OPTIONS and TSAN_OPTIONS in the environment still override each option.

extern "C" {

// The first error ends the process with a report and a non-zero exit code, so that no test
// passes over one. Leak checking stays on: the tests stop parleyd with SIGTERM, after which it
// frees everything and must exit with 0.
const char* __asan_default_options() {
  return "halt_on_error=1:detect_leaks=1:strict_string_checks=1:"
         "detect_stack_use_after_return=1:check_initialization_order=1:"
         "strict_init_order=1";
}

const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}

// second_deadlock_stack makes lock-order reports show where both locks were taken.
const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:"
         "suppressions=" PARLEY_TSAN_SUPPRESSIONS;
}

}  // extern "C"
