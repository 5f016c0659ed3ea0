# Turns the tests of one Criterion executable into CTest tests, one per Criterion test, so the
# CTest summary counts every test (and every skip) by name. Run after each build of the executable:
#   cmake -D EXE=... -D OUT=... -D PREFIX=... -D LABELS=... -D TIMEOUT=...
#         [-D LAUNCHER=...] [-D BATCH=... -D FIXTURES=... -D RESULTS=...] -P this
# With BATCH, each test reads its result from one run of the whole executable (tests/batch).
# Each test passes when Criterion prints [PASS] for it and is skipped when it prints [SKIP] for it
# (with the reason); anything else (a failure, a crash, no such test) fails.
execute_process(COMMAND "${EXE}" --list OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list failed (${rc})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
string(REPLACE "," ";" labels "${LABELS}")
set(content "")
set(suite "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z0-9_]+): [0-9]+ tests?$")
    set(suite "${CMAKE_MATCH_1}")
  elseif(line MATCHES "── ([A-Za-z0-9_]+)$")
    set(name "${CMAKE_MATCH_1}")
    set(id "${PREFIX}${suite}.${name}")
    if(BATCH)
      set(command "${BATCH} [=[${EXE}]=] ${suite} ${name}")
    else()
      set(command "${LAUNCHER} [=[${EXE}]=] --verbose --filter=${suite}/${name}")
    endif()
    string(APPEND content
      "add_test([=[${id}]=] ${command})\n"
      "set_tests_properties([=[${id}]=] PROPERTIES\n"
      "  PASS_REGULAR_EXPRESSION [=[\\[PASS\\] ${suite}::${name}: ]=]\n"
      "  SKIP_REGULAR_EXPRESSION [=[\\[SKIP\\] ${suite}::${name}: ]=]\n"
      "  LABELS [=[${labels}]=] TIMEOUT ${TIMEOUT})\n")
    if(FIXTURES)
      string(REPLACE "," ";" fixtures "${FIXTURES}")
      string(APPEND content
        "set_tests_properties([=[${id}]=] PROPERTIES FIXTURES_REQUIRED [=[${fixtures}]=]\n"
        "  ENVIRONMENT [=[ZXHV_RESULTS_DIR=${RESULTS}]=])\n")
    endif()
  endif()
endforeach()
file(WRITE "${OUT}" "${content}")
