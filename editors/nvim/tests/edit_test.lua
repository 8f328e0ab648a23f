-- Unit tests of the edit client (lspilot/edit.lua, lspilot/preview.lua) in a real Neovim,
-- without a server: WorkspaceEdits are written here as the server sends them (see
-- tests/test_edits_lsp.py), and where the flow needs an LSP client, a table with the three
-- methods it calls stands in for one. tests/test_editor_nvim_edits.py runs the whole thing
-- against the real server.
local t = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)),
  'harness.lua'))
local edit = require('lspilot.edit')
local preview = require('lspilot.preview')
local INFO, WARN, ERROR = vim.log.levels.INFO, vim.log.levels.WARN, vim.log.levels.ERROR

local A = { 'def parse(text):', '    return int(text)', '' }
local B = { 'from a import parse', '', 'print(parse("1"))' }

-- A workspace with a.py open (at LSP version 4) and b.py on disk only; the edit renames
-- `parse` to `load` in both, as the server would send it.
local function workspace()
  local root = t.tempdir()
  local a, b = root .. '/a.py', root .. '/b.py'
  vim.fn.writefile(A, a)
  vim.fn.writefile(B, b)
  vim.cmd.edit(a)
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.util.buf_versions[buf] = 4
  local function range(l1, c1, l2, c2)
    return { start = { line = l1, character = c1 }, ['end'] = { line = l2, character = c2 } }
  end
  local change = {
    documentChanges = {
      { textDocument = { uri = vim.uri_from_fname(a), version = 4 },
        edits = { { range = range(0, 4, 0, 9), newText = 'load' } } },
      { textDocument = { uri = vim.uri_from_fname(b), version = vim.NIL },
        edits = { { range = range(0, 14, 0, 19), newText = 'load' },
          { range = range(2, 6, 2, 11), newText = 'load' } } },
    },
  }
  return { root = root, a = a, b = b, buf = buf, edit = change }
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function buffer_of(name)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(buf) == name and vim.api.nvim_buf_is_loaded(buf) then
      return buf
    end
  end
end

t.test('a line range covers whole lines, a charwise selection its characters', function()
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'x = "é😀"', 'def f():', '    return 1' })
  t.eq({ start = { line = 1, character = 0 }, ['end'] = { line = 2, character = 12 } },
    edit.selection_range(0, 2, 3, 'utf-16'))
  vim.cmd('normal! 1G0f"lvl\27') -- select é and 😀 (the end mark is on 😀's first byte)
  for encoding, ends in pairs({ ['utf-8'] = 11, ['utf-16'] = 8, ['utf-32'] = 7 }) do
    t.eq({ start = { line = 0, character = 5 }, ['end'] = { line = 0, character = ends } },
      edit.selection_range(0, 1, 1, encoding), encoding)
  end
  vim.cmd('normal! 1G0v$\27') -- `$` puts the end mark past the line
  t.eq(9, edit.selection_range(0, 1, 1, 'utf-16')['end'].character)
end)

t.test('prepare reads open buffers and files on disk, and diffs each file', function()
  local w = workspace()
  local change = assert(preview.prepare(w.edit, 'utf-16'))
  t.eq(2, #change.files)
  t.eq(A, change.files[1].old)
  t.eq({ 'def load(text):', '    return int(text)', '' }, change.files[1].new)
  t.eq({ 'from a import load', '', 'print(load("1"))' }, change.files[2].new)
  t.eq(nil, buffer_of(w.b), 'b.py is read, not loaded')
  local diff = preview.diff_lines(change)
  t.truthy(vim.tbl_contains(diff, '-def parse(text):') and vim.tbl_contains(diff, '+def load(text):'),
    vim.inspect(diff))
  t.truthy(vim.tbl_contains(diff, '+print(load("1"))'), vim.inspect(diff))
  t.eq(2, #vim.tbl_filter(function(l) return vim.startswith(l, '+++ b/') end, diff))
end)

t.test('apply changes both files, one undo step per buffer', function()
  local w = workspace()
  -- The user's own change before the edit stays when the edit is undone.
  vim.api.nvim_buf_set_lines(w.buf, 2, 3, false, { '# mine' })
  vim.lsp.util.buf_versions[w.buf] = 4
  A[3] = '# mine'
  local change = assert(preview.prepare(w.edit, 'utf-16'))
  local notes = t.notes(function() t.truthy(preview.apply(change, 'changed a.py, b.py')) end)
  t.eq(1, #notes)
  t.eq(INFO, notes[1][2])
  t.truthy(notes[1][1]:find('changed a.py, b.py', 1, true), notes[1][1])
  t.eq('def load(text):', lines(w.buf)[1])
  local b = assert(buffer_of(w.b), 'b.py is open now')
  t.eq({ 'from a import load', '', 'print(load("1"))' }, lines(b))
  t.eq(B, vim.fn.readfile(w.b), 'nothing is written to disk')
  for _, buf in ipairs({ w.buf, b }) do
    vim.api.nvim_buf_call(buf, function() vim.cmd('silent undo') end)
  end
  t.eq({ 'def parse(text):', '    return int(text)', '# mine' }, lines(w.buf))
  t.eq(B, lines(b))
  A[3] = ''
end)

t.test('apply refuses, changing nothing, when a file changed after the edit was made', function()
  for _, case in ipairs({ 'typed in a.py', 'b.py opened and changed' }) do
    local w = workspace()
    local change = assert(preview.prepare(w.edit, 'utf-16'))
    local b
    if case == 'typed in a.py' then
      vim.api.nvim_buf_set_lines(w.buf, 2, 3, false, { 'x = 1' })
      vim.lsp.util.buf_versions[w.buf] = 5
    else
      vim.cmd.edit(w.b)
      b = vim.api.nvim_get_current_buf()
      vim.api.nvim_buf_set_lines(b, 1, 2, false, { '# changed' })
    end
    local notes = t.notes(function() t.eq(false, preview.apply(change, 'x')) end)
    t.eq(1, #notes, case)
    t.eq(ERROR, notes[1][2], case)
    t.truthy(notes[1][1]:find('nothing was applied', 1, true), notes[1][1])
    t.eq('def parse(text):', lines(w.buf)[1], case)
    if b then
      t.eq('from a import parse', lines(b)[1], case)
    else
      t.eq(nil, buffer_of(w.b), case)
    end
  end
end)

t.test('prepare refuses an edit made for an older version of an open buffer', function()
  local w = workspace()
  vim.lsp.util.buf_versions[w.buf] = 6
  local change, problem = preview.prepare(w.edit, 'utf-16')
  t.eq(nil, change)
  t.truthy(problem:find('a.py changed after the edit was made; nothing was applied', 1, true),
    problem)
end)

t.test('a created file diffs from /dev/null and is created on apply', function()
  local root = t.tempdir()
  local uri = vim.uri_from_fname(root .. '/util/strings.py')
  local origin = { line = 0, character = 0 }
  local change = assert(preview.prepare({ documentChanges = {
    { kind = 'create', uri = uri, options = { overwrite = false, ignoreIfExists = false } },
    { textDocument = { uri = uri, version = vim.NIL },
      edits = { { range = { start = origin, ['end'] = origin }, newText = 'X = 1\n' } } },
  } }, 'utf-16'))
  local diff = preview.diff_lines(change)
  t.eq('--- /dev/null', diff[1])
  t.truthy(vim.tbl_contains(diff, '+X = 1'), vim.inspect(diff))
  t.notes(function() t.truthy(preview.apply(change, 'created')) end)
  t.eq('X = 1', lines(assert(buffer_of(root .. '/util/strings.py')))[1])
end)

t.test('the preview tab: q discards, a applies, both go back to the first tab', function()
  for _, key in ipairs({ 'q', 'a' }) do
    local w = workspace()
    local origin = vim.api.nvim_get_current_tabpage()
    local change = assert(preview.prepare(w.edit, 'utf-16'))
    preview.open(change, 'rename parse to load', 'changed a.py, b.py')
    t.eq(2, vim.fn.tabpagenr('$'))
    t.eq('diff', vim.bo.filetype)
    local shown = lines(0)
    t.eq('# lspilot: rename parse to load', shown[1])
    t.eq('# a: apply   q: discard', shown[3])
    t.truthy(vim.tbl_contains(shown, '+def load(text):'), vim.inspect(shown))
    local notes = t.notes(function() vim.cmd('normal ' .. key) end)
    t.eq(1, vim.fn.tabpagenr('$'), key)
    t.eq(origin, vim.api.nvim_get_current_tabpage(), key)
    t.eq(nil, preview.current, key)
    t.eq(1, #notes, key)
    if key == 'q' then
      t.truthy(notes[1][1]:find('discarded; nothing was applied', 1, true), notes[1][1])
      t.eq(A, lines(w.buf))
      t.eq(nil, buffer_of(w.b))
    else
      t.eq('def load(text):', lines(w.buf)[1])
      t.eq('from a import load', lines(assert(buffer_of(w.b)))[1])
    end
  end
end)

t.test('pick_files toggles files until the first item', function()
  local select = vim.ui.select
  local script = { '[ ] b.py', '[x] a.py', '[ ] a.py', 'Edit the 2 picked files' }
  local shown = {}
  vim.ui.select = function(items, opts, on_choice)
    local want = table.remove(script, 1)
    for _, item in ipairs(items) do
      local text = opts.format_item(item)
      shown[#shown + 1] = text
      if text == want then
        return on_choice(item)
      end
    end
    error('no item ' .. want .. ' in ' .. vim.inspect(shown))
  end
  local chosen
  edit.pick_files({ 'a.py', 'b.py' }, { ['a.py'] = true }, function(files) chosen = files end)
  t.eq({ 'a.py', 'b.py' }, chosen)
  t.eq('Edit the 1 picked file', shown[1])
  vim.ui.select = function(_, _, on_choice) on_choice(nil) end
  chosen = 'untouched'
  edit.pick_files({ 'a.py' }, {}, function(files) chosen = files end)
  t.eq(nil, chosen)
  vim.ui.select = select
end)

t.test('listed_files: files under the root, the current buffer first', function()
  local w = workspace()
  vim.cmd.edit(w.b)
  vim.cmd('new') -- an unnamed buffer: not a file
  vim.cmd.edit(vim.fn.tempname() .. '.py') -- outside the root
  vim.cmd.buffer(vim.fn.bufnr(w.b))
  t.eq({ w.b, w.a }, edit.listed_files(w.root))
end)

-- A stand-in for vim.lsp.Client: what edit.run, cancel and the handlers call on it.
local function fake_client()
  local client = { id = 1, offset_encoding = 'utf-16', cancelled = {}, handlers = {} }
  function client:request(method, params, handler)
    self.handlers[#self.handlers + 1] = { method = method, params = params, handler = handler }
    return true, #self.handlers
  end
  function client:cancel_request(id) self.cancelled[#self.cancelled + 1] = id end
  function client:is_stopped() return false end
  return client
end

local function with_client(client, fn)
  local lspilot = require('lspilot')
  local original = lspilot.client
  lspilot.client = function() return client end
  local ok, err = pcall(fn)
  lspilot.client = original
  edit.running = nil
  if not ok then
    error(err, 0)
  end
end

t.test('run asks with apply = false, follows progress, and a server error is one note',
  function()
    local client = fake_client()
    with_client(client, function()
      vim.keymap.set('n', '<C-c>', '<Cmd>echo "mine"<CR>', { desc = 'the user\'s' })
      edit.run({ instruction = 'do it', uris = { 'file:///x.py' } })
      local sent = client.handlers[1]
      t.eq('workspace/executeCommand', sent.method)
      t.eq({ command = 'lspilot.edit', arguments = { { instruction = 'do it',
        uris = { 'file:///x.py' }, apply = false } } }, sent.params)
      t.eq('lspilot: cancel the edit', vim.fn.maparg('<C-c>', 'n', false, true).desc)
      -- A model load's progress is not the edit's; the edit's own cancellable one is.
      edit.on_progress({ token = 'load', value = { kind = 'begin', title = 'lspilot: m (edit)',
        message = 'loading' } }, 1)
      edit.on_progress({ token = 'e', value = { kind = 'begin', title = 'lspilot: do it',
        cancellable = true } }, 1)
      edit.on_progress({ token = 'e', value = { kind = 'report', message = 'writing: 3 tokens' } }, 1)
      edit.on_progress({ token = 'load', value = { kind = 'report', message = '50%' } }, 1)
      t.truthy(require('lspilot').statusline():find(' · edit: writing: 3 tokens$'),
        require('lspilot').statusline())
      local notes = t.notes(function()
        sent.handler({ code = -32803, message = 'lspilot: the answer leaves code out; nothing '
          .. 'was applied' }, nil)
      end)
      t.eq({ { 'lspilot: the answer leaves code out; nothing was applied', ERROR } }, notes)
      t.eq(nil, edit.running)
      t.eq(nil, edit.statusline())
      t.eq('the user\'s', vim.fn.maparg('<C-c>', 'n', false, true).desc, 'the key is given back')
    end)
    vim.keymap.del('n', '<C-c>')
  end)

t.test('cancel sends $/cancelRequest once and drops a late answer', function()
  local client = fake_client()
  with_client(client, function()
    edit.run({ instruction = 'do it', uris = { 'file:///x.py' } })
    local notes = t.notes(function() vim.cmd('normal \3') end) -- <C-c>
    t.eq({ 1 }, client.cancelled)
    t.eq({ { 'lspilot: edit cancelled; nothing was applied', INFO } }, notes)
    t.eq('', vim.fn.maparg('<C-c>', 'n'), 'the key is unmapped again')
    notes = t.notes(function()
      client.handlers[1].handler(nil, { edit = { documentChanges = {} }, files = { 'x' } })
    end)
    t.eq({}, notes)
    t.eq(nil, preview.current)
    notes = t.notes(function() edit.cancel() end)
    t.eq({ { 'lspilot: no edit is running', INFO } }, notes)
  end)
end)

t.test('an error the server told twice (showMessage, then the edit) is shown once', function()
  local client = fake_client()
  with_client(client, function()
    edit.run({ instruction = 'do it', uris = { 'file:///x.py' } })
    t.eq(false, edit.hold({ type = 3, message = 'lspilot: info passes' }))
    t.truthy(edit.hold({ type = 1, message = 'lspilot: model file not found: /m.gguf' }))
    t.truthy(edit.hold({ type = 1, message = 'lspilot: the index is broken' }))
    local notes = t.notes(function()
      client.handlers[1].handler({ code = -32803,
        message = 'lspilot: /m.gguf: model file not found: /m.gguf' }, nil)
    end)
    t.eq({ { 'lspilot: the index is broken', ERROR },
      { 'lspilot: /m.gguf: model file not found: /m.gguf', ERROR } }, notes)
    t.eq(false, edit.hold({ type = 1, message = 'after the edit' }), 'no edit runs')
  end)
end)

t.test('an answer that changes nothing is one warning', function()
  local client = fake_client()
  with_client(client, function()
    edit.run({ instruction = 'do it', uris = { 'file:///x.py' } })
    local notes = t.notes(function()
      client.handlers[1].handler(nil, { edit = { documentChanges = {} }, files = {},
        message = 'changed nothing' })
    end)
    t.eq({ { 'lspilot: the edit changes nothing: changed nothing', WARN } }, notes)
  end)
end)

t.test('the code action asks for the instruction, and nothing runs without one', function()
  require('lspilot').setup({ cmd = { 'true' } })
  local intercept = vim.lsp.config.lspilot.commands['lspilot.edit']
  t.truthy(intercept, 'lspilot.edit is handled in the client')
  local run, input = edit.run, vim.ui.input
  local ran = {}
  edit.run = function(args) ran[#ran + 1] = args end
  local where = { uri = 'file:///a.py', range = { start = { line = 3, character = 0 },
    ['end'] = { line = 5, character = 0 } } }
  for _, answer in ipairs({ 'rename it', '', false }) do
    vim.ui.input = function(_, on_confirm) on_confirm(answer or nil) end
    intercept({ title = 'Edit with lspilot…', command = 'lspilot.edit',
      arguments = { { range = where } } }, { bufnr = 0 })
  end
  edit.run, vim.ui.input = run, input
  t.eq({ { range = where, instruction = 'rename it' } }, ran)
end)

t.test(':LspilotModel takes a name and a role', function()
  require('lspilot').setup({ cmd = { 'true' } })
  local lspilot = require('lspilot')
  local select = lspilot.select_model
  local calls = {}
  lspilot.select_model = function(name, role) calls[#calls + 1] = { name or 'pick', role } end
  vim.cmd('LspilotModel')
  vim.cmd('LspilotModel qwen2.5-coder:1.5b')
  vim.cmd('LspilotModel qwen2.5-coder:1.5b edit')
  vim.cmd('LspilotModel edit')
  lspilot.select_model = select
  t.eq({ { 'pick' }, { 'qwen2.5-coder:1.5b' }, { 'qwen2.5-coder:1.5b', 'edit' },
    { 'pick', 'edit' } }, calls)
end)

t.run()
