/* stdint.h for vbase.ko: guest/include/vbase/abi.h (generated from abi.yaml)
   includes <stdint.h>; in the kernel the same names come from linux/types.h. */
#ifndef VBASE_KMOD_STDINT_H
#define VBASE_KMOD_STDINT_H
#include <linux/types.h>
#endif
