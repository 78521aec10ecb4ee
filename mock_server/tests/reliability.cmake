# Reliability tests: malformed input, races, soak, crash-safe state, logs, scenario folders,
# faults on the wire and TLS; every test that needs reliability_support.h (a real mock_server
# process, raw sockets, certificates).
add_executable(mock_server_reliability_tests
  ${CMAKE_CURRENT_LIST_DIR}/reliability_support.cpp
  ${CMAKE_CURRENT_LIST_DIR}/malformed_input_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/race_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/soak_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/state_file_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/security_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/faults_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/request_log_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scenarios_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transport_test.cpp
)
target_link_libraries(mock_server_reliability_tests PRIVATE
  mock_server_lib twoba_fixture_dir GTest::gtest_main twoba_warnings)
target_compile_definitions(mock_server_reliability_tests PRIVATE
  TWOBA_TEST_MOCK_BINARY="$<TARGET_FILE:mock_server>")
add_dependencies(mock_server_reliability_tests mock_server)
gtest_discover_tests(mock_server_reliability_tests
  TEST_PREFIX "reliability."
  DISCOVERY_TIMEOUT 60
  PROPERTIES TIMEOUT 300)
