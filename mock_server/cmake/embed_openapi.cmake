# Turns mock_server/openapi.json into a C++ source with the document as a raw string literal, so
# the server serves it without reading any file at run time. Run with cmake -P and
#   -DINPUT=openapi.json -DVERSION=x.y.z -DOUTPUT_CPP=file.cpp -DOUTPUT_JSON=file.json
file(READ "${INPUT}" content)
string(REPLACE "@PROJECT_VERSION@" "${VERSION}" content "${content}")
# Fails the build on a JSON syntax error, naming the problem.
string(JSON title ERROR_VARIABLE json_error GET "${content}" info title)
if(json_error)
  message(FATAL_ERROR "${INPUT} is not valid JSON: ${json_error}")
endif()
if(content MATCHES "\\)twoba_openapi\"")
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )twoba_openapi\"")
endif()
file(WRITE "${OUTPUT_JSON}.tmp" "${content}")
file(WRITE "${OUTPUT_CPP}.tmp"
  "// Generated at build time from mock_server/openapi.json; edit that file instead.\n"
  "#include \"control/openapi.h\"\n\n"
  "namespace mock2ba {\n\n"
  "const char* openapi_json() {\n"
  "  return R\"twoba_openapi(${content})twoba_openapi\";\n"
  "}\n\n"
  "}  // namespace mock2ba\n")
# Rewrite only on change, so an unchanged document does not recompile anything.
file(COPY_FILE "${OUTPUT_JSON}.tmp" "${OUTPUT_JSON}" ONLY_IF_DIFFERENT)
file(COPY_FILE "${OUTPUT_CPP}.tmp" "${OUTPUT_CPP}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT_JSON}.tmp" "${OUTPUT_CPP}.tmp")
