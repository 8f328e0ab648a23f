(import_statement (import_require_clause)) @import
