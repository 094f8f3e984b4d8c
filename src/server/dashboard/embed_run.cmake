# cmake -DIN=index.html -DOUT=dashboard_html.c -P embed_run.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from src/server/dashboard/index.html by embed_run.cmake. */\n"
  "static const unsigned char page[] = {\n${bytes}0x00};\n"
  "#include \"mdm/dataset.h\"\n"
  "MDM_EXTERN const char *mdm_dashboard_html(void) { return (const char *)page; }\n")
