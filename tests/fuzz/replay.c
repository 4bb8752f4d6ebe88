/* replay.c — runs fuzz inputs through a target without libFuzzer: every
 * file named on the command line (directories are walked one level) is
 * passed to LLVMFuzzerTestOneInput once. Built with the normal compiler and
 * sanitizer flags, so `make check` replays the corpora and saved crash
 * inputs as regression tests. Exit status 0 when every input ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *p = malloc(cap);
    for (;;) {
        if (n == cap) p = realloc(p, cap *= 2);
        size_t k = fread(p + n, 1, cap - n, f);
        if (k == 0) break;
        n += k;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(p, n);
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue; /* an empty crashes/ dir glob */
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                if (run_file(path) != 0) bad++;
                else files++;
            }
            if (d) closedir(d);
        } else {
            if (run_file(argv[i]) != 0) bad++;
            else files++;
        }
    }
    printf("replayed %d inputs\n", files);
    return bad ? 1 : 0;
}
