/* banned.h — functions that invite overflows or silent misparses. */
#ifndef RV_BANNED_H
#define RV_BANNED_H

/* Include last: system headers may still mention these names. */
#pragma GCC poison strcpy strcat sprintf vsprintf gets atoi atol atoll strtok

#endif
