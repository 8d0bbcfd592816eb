/* The engine's one error message buffer: the last failure's text, read by cnn_last_error() (and by the JS wrapper,
 * which turns it into an Error). Thread-local where the compiler supports it. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#if defined(__wasm__)
/* Also in the threaded wasm build: its workers never fail, and a standalone module's TLS has no per-thread base. */
static char last_error[CNN_ERROR_BYTES];
#else
static _Thread_local char last_error[CNN_ERROR_BYTES];
#endif

const char* cnn_last_error(void) { return last_error; }

cnn_status cnn_fail(cnn_status status, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return status;
}
