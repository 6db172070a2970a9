# cmake -DSPV=in.spv -DOUT=out.cpp -DSYM=name -P EmbedSpirv.cmake
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR words "${n} / 8")
# SPIR-V is a little-endian word stream on every host we build for: regroup
# bytes b0 b1 b2 b3 into the word 0xb3b2b1b0.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n" body "${body}")
file(WRITE ${OUT} "#include <cstddef>\n#include <cstdint>\nextern const uint32_t ${SYM}[] = {\n${body}\n};\nextern const size_t ${SYM}_words = ${words};\n")
