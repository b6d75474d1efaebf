# A make include that builds a U-mode program for Vbase's guest kernel from OUTSIDE this tree, against the
# same runtime and flags as the built-in applications (guest/Makefile's APPS), with Debian's
# gcc-riscv64-unknown-elf. In your own Makefile:
#
#   VBASE_GUEST := /path/to/vbase/guest
#   APP         := my-vault            # builds $(APP).elf
#   SRCS        := my-vault.c          # your C sources (and .S)
#   include $(VBASE_GUEST)/app.mk
#
# then `make` gives my-vault.elf (linked at 0x10000), which an app manifest names (docs/apps.md);
# `make clean` removes it and build/. The runtime is compiled into build/vbase-runtime/.

VBASE_GUEST ?= $(error set VBASE_GUEST to the guest/ folder of a Vbase clone)
APP         ?= $(error set APP to the program's name)
SRCS        ?= $(error set SRCS to the program's sources)

CROSS ?= riscv64-unknown-elf-
CC    := $(CROSS)gcc
VBASE_ARCH    := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
VBASE_UCFLAGS := $(VBASE_ARCH) -O2 -ffreestanding -nostdlib -nostartfiles -static \
                 -fno-common -fno-strict-aliasing -fno-tree-loop-distribute-patterns \
                 -fno-asynchronous-unwind-tables -fno-unwind-tables \
                 -Wall -Wextra -I$(VBASE_GUEST)/apps/include -I$(VBASE_GUEST)/kernel -I$(VBASE_GUEST)/include
VBASE_ULDFLAGS := $(VBASE_ARCH) -nostdlib -nostartfiles -static -T $(VBASE_GUEST)/link-user.ld \
                  -Wl,--build-id=none -Wl,--no-warn-rwx-segments

VBASE_RUNTIME := build/vbase-runtime/crt0.o build/vbase-runtime/ulib.o build/vbase-runtime/format.o \
                 build/vbase-runtime/string.o
APP_OBJS := $(patsubst %,build/app/%.o,$(basename $(SRCS)))

$(APP).elf: $(VBASE_RUNTIME) $(APP_OBJS)
	$(CC) $(VBASE_ULDFLAGS) -o $@ $(VBASE_RUNTIME) $(APP_OBJS)

build/vbase-runtime/crt0.o: $(VBASE_GUEST)/apps/lib/crt0.S
	@mkdir -p $(@D)
	$(CC) $(VBASE_UCFLAGS) -c -o $@ $<
build/vbase-runtime/ulib.o: $(VBASE_GUEST)/apps/lib/ulib.c
	@mkdir -p $(@D)
	$(CC) $(VBASE_UCFLAGS) -c -o $@ $<
build/vbase-runtime/format.o: $(VBASE_GUEST)/kernel/format.c
	@mkdir -p $(@D)
	$(CC) $(VBASE_UCFLAGS) -c -o $@ $<
build/vbase-runtime/string.o: $(VBASE_GUEST)/runtime/string.c
	@mkdir -p $(@D)
	$(CC) $(VBASE_UCFLAGS) -c -o $@ $<
build/app/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(VBASE_UCFLAGS) -c -o $@ $<
build/app/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(VBASE_UCFLAGS) -c -o $@ $<

.PHONY: clean
clean:
	rm -rf build $(APP).elf
