# gatehouse_add_plugin(): build a Gatehouse plugin (a MODULE library gh-<name>.so) and sign it.
#
#   gatehouse_add_plugin(<target> NAME <name> VERSION <x.y.z> SOURCES <files>...
#                        [LIBRARIES <libs>...] [SIGNING_KEY <file>] [OUTPUT_DIRECTORY <dir>]
#                        [VALID_DAYS <n>] [NO_SIGN])
#
# NAME      [a-z0-9_-]{1,64}: the plugin's name (config block `plugins: <name>:`, manifest name).
# VERSION   semantic version MAJOR.MINOR.PATCH[-prerelease]. NAME and VERSION reach the code as
#           GH_PLUGIN_NAME / GH_PLUGIN_VERSION (used by GATEHOUSE_PLUGIN), so the descriptor and
#           the signed manifest always agree.
# LIBRARIES linked PRIVATE (prefer static PIC libraries; system shared libraries by plain name only).
# OUTPUT_DIRECTORY  where gh-<name>.so and its .sig go; default GATEHOUSE_PLUGIN_OUTPUT_DIR.
# SIGNING_KEY       Ed25519 private key (PEM). Default: GATEHOUSE_SIGNING_KEY, else a key made at
#                   build time in <build>/keys/plugin-signing.key, whose public key lands in
#                   <GATEHOUSE_PLUGIN_OUTPUT_DIR>/trust/build-<id>.pub (one key per build tree).
# VALID_DAYS        the signature's lifetime (default 365).
# NO_SIGN           build only (the gateway refuses unsigned plugins).
#
# Signing runs after each link: `<gatehouse> plugin sign --key K --name N --version V
# --valid-days D <file>` writes <file>.sig. <gatehouse> is GATEHOUSE_EXECUTABLE when set, else
# the imported GatehouseSDK::gatehouse (out of tree), else this tree's `gatehouse` target.
#
# The plugin is linked with hidden visibility and a version script (only gh_plugin_entry is
# exported), without any RPATH, with -z now -z relro, and with -z defs (no undefined symbols)
# unless sanitizers are on (GATEHOUSE_SANITIZE, GATEHOUSE_FUZZ, GATEHOUSE_PLUGIN_SANITIZED or
# -fsanitize in the compiler/linker flags), whose runtime the gateway executable provides.
include_guard(GLOBAL)

set(GATEHOUSE_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins-signed" CACHE PATH
    "Directory gatehouse_add_plugin() writes plugins and their .sig files to")
set(GATEHOUSE_SIGNING_KEY "" CACHE FILEPATH
    "Ed25519 private key (PEM) that signs plugins; empty = a key generated at build time in <build>/keys/")
set(GATEHOUSE_EXECUTABLE "" CACHE FILEPATH
    "gatehouse binary used to generate keys and sign plugins; empty = GatehouseSDK::gatehouse or the in-tree target")
option(GATEHOUSE_SIGN_PLUGINS "Sign plugins after building them (the gateway refuses unsigned plugins)" ON)

# Resolves the signing tool into <out_cmd> (a path or generator expression) and <out_target> (a
# target to depend on, or "").
function(_gatehouse_plugin_tool out_cmd out_target)
  if(GATEHOUSE_EXECUTABLE)
    set(${out_cmd} "${GATEHOUSE_EXECUTABLE}" PARENT_SCOPE)
    set(${out_target} "" PARENT_SCOPE)
  elseif(TARGET GatehouseSDK::gatehouse)
    get_target_property(loc GatehouseSDK::gatehouse IMPORTED_LOCATION)
    if(loc AND NOT EXISTS "${loc}")
      message(FATAL_ERROR "gatehouse_add_plugin: the signing tool GatehouseSDK::gatehouse (${loc}) does not exist. "
                          "Install the gatehouse binary into the SDK's prefix, set GATEHOUSE_EXECUTABLE to a gatehouse "
                          "binary, or build unsigned with NO_SIGN / -DGATEHOUSE_SIGN_PLUGINS=OFF.")
    endif()
    set(${out_cmd} "$<TARGET_FILE:GatehouseSDK::gatehouse>" PARENT_SCOPE)
    set(${out_target} "" PARENT_SCOPE)
  elseif(TARGET gatehouse)
    set(${out_cmd} "$<TARGET_FILE:gatehouse>" PARENT_SCOPE)
    set(${out_target} gatehouse PARENT_SCOPE)
  else()
    message(FATAL_ERROR "gatehouse_add_plugin: no gatehouse binary to sign plugins with (no GatehouseSDK::gatehouse, "
                        "no in-tree gatehouse target). Set GATEHOUSE_EXECUTABLE, or build unsigned with NO_SIGN / "
                        "-DGATEHOUSE_SIGN_PLUGINS=OFF.")
  endif()
endfunction()

# The build tree's signing key, generated once at build time by target gatehouse_plugin_signing_key.
function(_gatehouse_plugin_build_key tool tool_target out_key)
  set(key "${CMAKE_BINARY_DIR}/keys/plugin-signing.key")
  if(CMAKE_BINARY_DIR STREQUAL CMAKE_SOURCE_DIR)
    message(FATAL_ERROR "gatehouse_add_plugin: an in-source build would put the private signing key into the "
                        "source tree (${key}). Use a separate build directory, or set GATEHOUSE_SIGNING_KEY.")
  endif()
  if(NOT TARGET gatehouse_plugin_signing_key)
    # The public key's name tells build trees apart when several share a trust directory.
    string(SHA256 tree_id "${CMAKE_BINARY_DIR}")
    string(SUBSTRING "${tree_id}" 0 12 tree_id)
    set(pub "${GATEHOUSE_PLUGIN_OUTPUT_DIR}/trust/build-${tree_id}.pub")
    # The parameters go through a generated file so that the command line never changes: the
    # Makefile generator deletes a custom command's output when its command line changes (e.g. a
    # new GATEHOUSE_EXECUTABLE), and that output is the private key.
    set(params "${CMAKE_BINARY_DIR}/CMakeFiles/gatehouse_plugin_keygen_params.cmake")
    file(GENERATE OUTPUT "${params}"
         CONTENT "set(TOOL [==[${tool}]==])\nset(PRIVATE_KEY [==[${key}]==])\nset(PUBLIC_KEY [==[${pub}]==])\n")
    add_custom_command(OUTPUT "${key}"
      COMMAND "${CMAKE_COMMAND}" "-DPARAMS=${params}" -P "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/GatehouseKeygen.cmake"
      COMMENT "Generating the plugin signing key of this build tree"
      VERBATIM)
    add_custom_target(gatehouse_plugin_signing_key DEPENDS "${key}")
    if(tool_target)
      add_dependencies(gatehouse_plugin_signing_key ${tool_target})   # order only: no rebuild of the key
    endif()
    set_property(GLOBAL PROPERTY GATEHOUSE_PLUGIN_TRUST_KEY "${pub}")
  endif()
  set(${out_key} "${key}" PARENT_SCOPE)
endfunction()

function(_gatehouse_plugin_sanitized out)
  set(on OFF)
  if(GATEHOUSE_SANITIZE OR GATEHOUSE_FUZZ OR GATEHOUSE_PLUGIN_SANITIZED)
    set(on ON)
  endif()
  string(TOUPPER "${CMAKE_BUILD_TYPE}" cfg)
  foreach(flags IN ITEMS CMAKE_CXX_FLAGS CMAKE_CXX_FLAGS_${cfg} CMAKE_C_FLAGS CMAKE_MODULE_LINKER_FLAGS
                         CMAKE_SHARED_LINKER_FLAGS)
    if("${${flags}}" MATCHES "-fsanitize")
      set(on ON)
    endif()
  endforeach()
  set(${out} ${on} PARENT_SCOPE)
endfunction()

function(gatehouse_add_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_SIGN" "NAME;VERSION;SIGNING_KEY;OUTPUT_DIRECTORY;VALID_DAYS"
                        "SOURCES;LIBRARIES")
  set(where "gatehouse_add_plugin(${target})")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${where}: unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME MATCHES "^[a-z0-9_-]+$" OR ARG_NAME MATCHES "^.{65}")
    message(FATAL_ERROR "${where}: NAME must be 1-64 characters of a-z 0-9 _ -, found '${ARG_NAME}'")
  endif()
  if(NOT ARG_VERSION MATCHES "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$")
    message(FATAL_ERROR "${where}: VERSION must be a semantic version MAJOR.MINOR.PATCH[-prerelease], found '${ARG_VERSION}'")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "${where}: SOURCES is required (the .cpp with GATEHOUSE_PLUGIN, at least)")
  endif()
  if(NOT DEFINED ARG_VALID_DAYS)
    set(ARG_VALID_DAYS 365)
  endif()
  if(NOT ARG_VALID_DAYS MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "${where}: VALID_DAYS must be a positive number of days, found '${ARG_VALID_DAYS}'")
  endif()
  set(out_dir "${GATEHOUSE_PLUGIN_OUTPUT_DIR}")
  if(ARG_OUTPUT_DIRECTORY)
    get_filename_component(out_dir "${ARG_OUTPUT_DIRECTORY}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  endif()

  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE GatehouseSDK::sdk ${ARG_LIBRARIES})
  get_property(in_tree GLOBAL PROPERTY GATEHOUSE_SDK_IN_TREE)
  if(in_tree AND TARGET gatehouse::build_flags)
    target_link_libraries(${target} PRIVATE gatehouse::build_flags)   # the tree's warnings and sanitizers
  endif()
  target_compile_definitions(${target} PRIVATE GH_PLUGIN_NAME="${ARG_NAME}" GH_PLUGIN_VERSION="${ARG_VERSION}")
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "gh-${ARG_NAME}"
    SUFFIX ".so"
    LIBRARY_OUTPUT_DIRECTORY "$<1:${out_dir}>"   # $<1:> keeps multi-config generators from adding a subdir
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    # No RPATH/RUNPATH at all: a signed plugin must not make the loader search other directories.
    SKIP_BUILD_RPATH ON
    BUILD_WITH_INSTALL_RPATH OFF
    INSTALL_RPATH ""
    GATEHOUSE_PLUGIN_NAME "${ARG_NAME}"
    GATEHOUSE_PLUGIN_VERSION "${ARG_VERSION}")
  set(map "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/gatehouse_plugin.map")
  target_link_options(${target} PRIVATE "LINKER:-z,now" "LINKER:-z,relro" "LINKER:--version-script=${map}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${map}")
  _gatehouse_plugin_sanitized(sanitized)
  if(NOT sanitized)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")   # every symbol resolved at link time
  endif()

  if(ARG_NO_SIGN OR NOT GATEHOUSE_SIGN_PLUGINS)
    return()
  endif()
  _gatehouse_plugin_tool(tool tool_target)
  if(ARG_SIGNING_KEY)
    get_filename_component(key "${ARG_SIGNING_KEY}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  elseif(GATEHOUSE_SIGNING_KEY)
    get_filename_component(key "${GATEHOUSE_SIGNING_KEY}" ABSOLUTE)
  else()
    _gatehouse_plugin_build_key("${tool}" "${tool_target}" key)
    add_dependencies(${target} gatehouse_plugin_signing_key)
  endif()
  if((ARG_SIGNING_KEY OR GATEHOUSE_SIGNING_KEY) AND NOT EXISTS "${key}")
    message(FATAL_ERROR "${where}: the signing key ${key} does not exist")
  endif()
  if(tool_target)
    add_dependencies(${target} ${tool_target})
  endif()
  # A failed signing step must not leave the previous .sig next to a new binary looking valid
  # (the gateway would refuse it anyway: the hash differs). Remove it before every link.
  add_custom_command(TARGET ${target} PRE_LINK
    COMMAND "${CMAKE_COMMAND}" -E rm -f "$<TARGET_FILE:${target}>.sig"
    VERBATIM)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${tool}" plugin sign --key "${key}" --name "${ARG_NAME}" --version "${ARG_VERSION}"
            --valid-days "${ARG_VALID_DAYS}" "$<TARGET_FILE:${target}>"
    COMMENT "Signing gh-${ARG_NAME}.so ${ARG_VERSION} with ${key}"
    VERBATIM)
  set_property(TARGET ${target} APPEND PROPERTY ADDITIONAL_CLEAN_FILES "$<TARGET_FILE:${target}>.sig")
endfunction()
