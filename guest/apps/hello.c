/* hello - the smallest process: prints its pid and a line, exits 0. */
#include "vbase.h"

int main(int argc, char **argv)
{
    (void)argc;
    vb_printf("%s: hello from pid %ld\n", argv[0], sys_getpid());
    vb_puts("hello: a U-mode process under the Vbase guest kernel\n");
    return 0;
}
