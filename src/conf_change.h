/* placeholder: written by the lead */
#pragma once
