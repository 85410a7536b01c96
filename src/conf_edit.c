#include "conf_edit.h"
