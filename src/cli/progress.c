#include "cli/progress.h"

#include <stdio.h>
#include <unistd.h>

void cli_progress_register(const mdm_register_progress *p, void *ctx)
{
    (void)ctx;
    if (!isatty(STDERR_FILENO))
        return;
    char eta[32] = "";
    double mb_s = 0;
    if (p->bytes_total > 0 && p->elapsed_s > 0) {
        mb_s = (double)p->bytes_done / 1e6 / p->elapsed_s;
        double frac = (double)p->bytes_done / (double)p->bytes_total;
        if (frac > 0.01 && !p->finished)
            snprintf(eta, sizeof eta, "  ETA %.0fs", p->elapsed_s * (1 - frac) / frac);
    }
    int width = 24, filled = p->bytes_total ? (int)(width * (double)p->bytes_done / (double)p->bytes_total) : 0;
    if (p->finished)
        filled = width;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K  [%zu/%zu] %-20.20s [%s] %llu rows", p->table_index + 1, p->ntables,
            p->table, bar, (unsigned long long)p->rows);
    if (mb_s > 0)
        fprintf(stderr, "  %.1f MB/s", mb_s);
    fprintf(stderr, "%s", p->finished ? "\n" : eta);
    fflush(stderr);
}
