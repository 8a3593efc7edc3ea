# SPDX-License-Identifier: MIT
# FUT_CHECK_CFLAG(FLAG, VARIABLE, [IF-MISSING])
# Appends FLAG to VARIABLE when the C compiler accepts it (warnings made
# errors, so an unknown -W option is caught too); otherwise runs
# IF-MISSING.
AC_DEFUN([FUT_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([fut_cache], [fut_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [fut_cache], [
    fut_save_cflags=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([fut_cache], [yes])], [AS_VAR_SET([fut_cache], [no])])
    CFLAGS=$fut_save_cflags
  ])
  AS_VAR_IF([fut_cache], [yes], [$2="$$2 $1"], [$3])
  AS_VAR_POPDEF([fut_cache])
])
