/* exitcode - checks that main's return value reaches the host as the
   emulator's exit status (through the test finisher). */
#include "vbase.h"

int main(void)
{
    vb_puts("exitcode: returning 42\n");
    return 42;
}
