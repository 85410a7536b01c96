#include "backend_auto.h"
