#!/usr/bin/env python3
# Writes a C file holding a file's bytes (the guard's BPF object), so that
# tcpaod carries it and nothing else is installed.
import sys

data = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'w') as out:
    out.write('#include <stddef.h>\n')
    out.write('const unsigned char guard_bpf_obj[] __attribute__((aligned(8))) = {\n')
    for i in range(0, len(data), 12):
        out.write('\t' + ', '.join('0x%02x' % b for b in data[i:i + 12]) + ',\n')
    out.write('};\nconst size_t guard_bpf_obj_len = %d;\n' % len(data))
