#include "conf_schema.h"
