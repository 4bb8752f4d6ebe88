/* obj.c — the registry of value types. Strings are built in (they live
 * inline in their entry); each other type's module registers its
 * operations here at start-up. */
#include "kvd.h"

static const objtype string_type = {"string", NULL, NULL, NULL, NULL, NULL, NULL};
const objtype *obj_types[OBJ_NTYPES] = {&string_type};

void obj_register(int type, const objtype *t) { obj_types[type] = t; }

const char *obj_type_name(int type)
{
    if (type >= 0 && type < OBJ_NTYPES && obj_types[type]) return obj_types[type]->name;
    return "none";
}
