/* A tiny shared object for the signing tests: built plain, with RUNPATH and with RPATH. It calls
   into libc so that every variant has a DT_NEEDED entry, and exports one function that the
   end-to-end test calls after loading the verified bytes from the sealed memfd. */
#include <unistd.h>

int gatehouse_signing_fixture(void) { return getpid() > 0 ? 42 : 0; }
