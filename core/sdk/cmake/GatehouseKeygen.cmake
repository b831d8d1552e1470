# Script mode (cmake -P), run at BUILD time by gatehouse_add_plugin()'s key target:
#   cmake -DPARAMS=<file setting TOOL, PRIVATE_KEY, PUBLIC_KEY> -P GatehouseKeygen.cmake
#   cmake -DTOOL=<gatehouse> -DPRIVATE_KEY=<file> -DPUBLIC_KEY=<file> -P GatehouseKeygen.cmake
# Generates the build tree's plugin signing key pair once. The private key's directory is made
# owner-only; the gatehouse CLI writes the key 0600 and refuses to overwrite an existing one.
if(DEFINED PARAMS)
  include("${PARAMS}")
endif()
foreach(v TOOL PRIVATE_KEY PUBLIC_KEY)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "GatehouseKeygen.cmake: -D${v}=... is required")
  endif()
endforeach()

if(EXISTS "${PRIVATE_KEY}")
  if(NOT EXISTS "${PUBLIC_KEY}")
    message(FATAL_ERROR "The plugin signing key ${PRIVATE_KEY} exists but its public key ${PUBLIC_KEY} "
                        "does not. Delete ${PRIVATE_KEY} to generate a new pair (plugins signed with "
                        "the old key then need re-signing), or restore the public key.")
  endif()
  return()   # already generated for this build tree
endif()

get_filename_component(key_dir "${PRIVATE_KEY}" DIRECTORY)
get_filename_component(pub_dir "${PUBLIC_KEY}" DIRECTORY)
file(MAKE_DIRECTORY "${key_dir}" "${pub_dir}")
file(CHMOD "${key_dir}" DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
# A public key left from a deleted private key is stale: it would still be trusted.
file(REMOVE "${PUBLIC_KEY}")

execute_process(COMMAND "${TOOL}" plugin keygen --private "${PRIVATE_KEY}" --public "${PUBLIC_KEY}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${PRIVATE_KEY}" "${PUBLIC_KEY}")
  message(FATAL_ERROR "'${TOOL} plugin keygen' failed (${rc}); no plugin signing key was made")
endif()
message(STATUS "Plugin signing key: ${PRIVATE_KEY}; trust its public key ${PUBLIC_KEY}")
