(preproc_include path: (string_literal)) @import
