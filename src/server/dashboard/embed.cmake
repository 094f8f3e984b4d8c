# The dashboard page (index.html) compiled into libmdm as a C string, so that
# `mdm serve` and `mdm stats dashboard` need no file at run time.
set(MDM_DASHBOARD_HTML ${CMAKE_SOURCE_DIR}/src/server/dashboard/index.html)
set(MDM_DASHBOARD_C ${CMAKE_BINARY_DIR}/generated/dashboard_html.c)
add_custom_command(
  OUTPUT ${MDM_DASHBOARD_C}
  COMMAND ${CMAKE_COMMAND} -DIN=${MDM_DASHBOARD_HTML} -DOUT=${MDM_DASHBOARD_C}
          -P ${CMAKE_SOURCE_DIR}/src/server/dashboard/embed_run.cmake
  DEPENDS ${MDM_DASHBOARD_HTML} ${CMAKE_SOURCE_DIR}/src/server/dashboard/embed_run.cmake
  COMMENT "Embedding the dashboard page")
target_sources(mdm_objects PRIVATE ${MDM_DASHBOARD_C})
