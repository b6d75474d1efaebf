/*
 * secure-app - the paper's secure application (Listings 1-3, Algorithm 1).
 *
 * A page of secure memory, page-aligned (Listing 1); an int secret_key at
 * its start, set to 654321 (Listing 2); the vbase system call asks the
 * kernel module to protect the page; then the program overwrites the key
 * with 123456 and prints it again (Listing 3).  Our syscall takes a region
 * and an operation: vbase(secure_mem, PAGE_SIZE, 0) enters, op 1 exits.
 *
 * Expected output (the values are read back from memory, not assumed):
 *   vbase architecture: the write is dropped, "after" prints 654321 (as in
 *                       the paper: "the same values before and after");
 *   none:               nothing is protected, "after" prints 123456;
 *   no architecture:    vbase answers -38 (ENOSYS), "after" prints 123456.
 * Always exits 0: what happened is the output, not the exit code.
 */
#include "vbase.h"

#define PAGE_SIZE 4096

/* Listing 1: secure memory of a page, aligned to the start of a page.  It
   fills its page alone, so no other variable shares the protected frame. */
static char secure_mem[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

int main(void)
{
    /* Listing 2.  volatile: every access is a real load or store, so the
       value printed is what memory holds, not what the compiler remembers. */
    volatile int *secret_key = (volatile int *)secure_mem;
    *secret_key = 654321;

    /* Listing 3. */
    vb_printf("secure-app: The secret_key before system call is: %d\n", *secret_key);
    long r = sys_vbase(secure_mem, PAGE_SIZE, 0);
    vb_printf("secure-app: vbase(secure_mem, %d, enter) = %ld\n", PAGE_SIZE, r);

    *secret_key = 123456;
    vb_printf("secure-app: The secret_key after system call is: %d\n", *secret_key);

    r = sys_vbase(secure_mem, PAGE_SIZE, 1);
    vb_printf("secure-app: vbase(secure_mem, %d, exit) = %ld\n", PAGE_SIZE, r);
    return 0;
}
