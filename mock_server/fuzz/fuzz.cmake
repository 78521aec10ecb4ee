# libFuzzer harnesses (configure with the `fuzz` preset: clang with ASan and UBSan).
# The library is built with coverage instrumentation; each harness links libFuzzer's main.
target_compile_options(mock_server_lib PRIVATE -fsanitize=fuzzer-no-link)
foreach(name fuzz_form fuzz_basic_auth fuzz_fixture fuzz_control_json fuzz_http_request)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp)
  target_link_libraries(${name} PRIVATE mock_server_lib)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endforeach()
