/* A C string as a JSON string literal (the bundle's config.json, the hooks' state). */
#pragma once
#include <stdio.h>

void json_put_string(FILE *f, const char *s);
