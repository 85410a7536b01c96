#include "conf_backup.h"
