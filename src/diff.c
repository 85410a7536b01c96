#include "diff.h"
