(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.type
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.type
