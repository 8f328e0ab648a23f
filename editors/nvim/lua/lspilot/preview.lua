-- An edit's preview and its application. The server sends the edit (`apply = false`); this
-- module shows it as a diff in a scratch tab and applies it only after checking that every
-- file still holds the text the edit was made for: Neovim 0.11 applies a WorkspaceEdit change
-- by change with no rollback, checks only the first document's version, and ignores change
-- annotations (so the server's own `workspace/applyEdit` could not ask for confirmation).
local M = {}

-- The latest preview shown: { buf, change } (for :LspilotEdit's callers and the tests).
M.current = nil

local function notify(message, level)
  if not vim.startswith(message, 'lspilot') then
    message = 'lspilot: ' .. message
  end
  vim.notify(message, level or vim.log.levels.INFO)
end

local function display(name)
  return vim.fn.fnamemodify(name, ':~:.')
end

-- The loaded buffer of a file, if any; never makes one.
local function loaded_buffer(name)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.api.nvim_buf_get_name(buf) == name then
      return buf
    end
  end
  return nil
end

local function buffer_lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function disk_lines(name)
  if vim.uv.fs_stat(name) == nil then
    return nil
  end
  return vim.fn.readfile(name)
end

--- A file's lines as the server read them for the edit, or nil and why the edit no longer
--- fits: a versioned document must be the open buffer at that version; an unversioned one
--- was read from disk, and an open buffer of it must hold the same text; a file the edit
--- creates must not exist.
function M.current_lines(file)
  local buf = loaded_buffer(file.name)
  local name = display(file.name)
  if file.version ~= nil then
    if buf == nil or vim.lsp.util.buf_versions[buf] ~= file.version then
      return nil, name .. ' changed after the edit was made; nothing was applied: run it again'
    end
    return buffer_lines(buf)
  end
  local disk = disk_lines(file.name)
  if file.create then
    if disk ~= nil then
      return nil, name .. ' exists now, and the edit would create it; nothing was applied'
    end
    return {}
  end
  if disk == nil then
    return nil, name .. ' is gone; nothing was applied'
  end
  if buf ~= nil and not vim.deep_equal(buffer_lines(buf), disk) then
    return nil, name .. ' has unsaved changes the edit did not see; nothing was applied: '
      .. 'save it and run the edit again'
  end
  return disk
end

-- `lines` after `edits`, applied by the very function that applies them to the buffers.
local function edited(lines, edits, encoding)
  local scratch = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(scratch, 0, -1, false, lines)
  vim.lsp.util.apply_text_edits(vim.deepcopy(edits), scratch, encoding)
  local new = buffer_lines(scratch)
  vim.api.nvim_buf_delete(scratch, { force = true })
  return new
end

--- The files of a WorkspaceEdit, each { uri, name, version, create, edits, old, new }, or
--- nil and why it cannot be applied.
function M.prepare(edit, encoding)
  local files, by_uri = {}, {}
  local function file(uri, version)
    if by_uri[uri] == nil then
      by_uri[uri] = { uri = uri, name = vim.uri_to_fname(uri), edits = {} }
      files[#files + 1] = by_uri[uri]
    end
    if version ~= nil and version ~= vim.NIL then
      by_uri[uri].version = version
    end
    return by_uri[uri]
  end
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.kind == 'create' then
      file(change.uri).create = true
    elseif change.kind ~= nil then
      return nil, ('the edit would %s %s, which lspilot does not preview; nothing was applied')
        :format(change.kind, change.uri or change.oldUri)
    else
      vim.list_extend(file(change.textDocument.uri, change.textDocument.version).edits,
        change.edits)
    end
  end
  local uris = vim.tbl_keys(edit.changes or {})
  table.sort(uris)
  for _, uri in ipairs(uris) do
    vim.list_extend(file(uri).edits, edit.changes[uri])
  end
  for _, f in ipairs(files) do
    local old, problem = M.current_lines(f)
    if old == nil then
      return nil, problem
    end
    f.old, f.new = old, edited(old, f.edits, encoding)
  end
  return { edit = edit, encoding = encoding, files = files }
end

local diff = (vim.text and vim.text.diff) or vim.diff -- vim.diff is vim.text.diff in 0.12

local function text(lines)
  return #lines == 0 and '' or table.concat(lines, '\n') .. '\n'
end

--- The change as a unified diff, file after file.
function M.diff_lines(change)
  local lines = {}
  for _, f in ipairs(change.files) do
    local name = display(f.name)
    lines[#lines + 1] = f.create and '--- /dev/null' or ('--- a/' .. name)
    lines[#lines + 1] = '+++ b/' .. name
    local hunks = diff(text(f.old), text(f.new), { result_type = 'unified', ctxlen = 3 })
    ---@cast hunks string
    vim.list_extend(lines, vim.split(hunks, '\n', { plain = true, trimempty = true }))
  end
  return lines
end

-- Each buffer gets the edit as its own undo step: break the undo sequence before and after.
local function break_undo(names)
  for _, name in ipairs(names) do
    local buf = loaded_buffer(name)
    if buf ~= nil then
      vim.api.nvim_buf_call(buf, function() vim.cmd('let &undolevels = &undolevels') end)
    end
  end
end

--- Apply a prepared change when no file changed since; tell the user the outcome, once.
function M.apply(change, message)
  for _, f in ipairs(change.files) do
    local now, problem = M.current_lines(f)
    if now == nil then
      notify(problem, vim.log.levels.ERROR)
      return false
    elseif not vim.deep_equal(now, f.old) then
      notify(display(f.name) .. ' changed after the edit was made; nothing was applied: '
        .. 'run it again', vim.log.levels.ERROR)
      return false
    end
  end
  local names = vim.tbl_map(function(f) return f.name end, change.files)
  break_undo(names)
  local ok, err = pcall(vim.lsp.util.apply_workspace_edit, vim.deepcopy(change.edit),
    change.encoding)
  break_undo(names)
  if not ok then
    notify('the edit could not be applied: ' .. tostring(err):gsub('^[^:]*:%d+: ', ''),
      vim.log.levels.ERROR)
    return false
  end
  notify((message or 'edit applied') .. '; u undoes it in each buffer, :wa saves')
  return true
end

-- Close the preview's tab and go back to the tab it was opened from.
local function close(buf, origin)
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    pcall(vim.api.nvim_win_close, win, true) -- the last window cannot close: wiped below
  end
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_delete(buf, { force = true })
  end
  if vim.api.nvim_tabpage_is_valid(origin) then
    vim.api.nvim_set_current_tabpage(origin)
  end
  if M.current and M.current.buf == buf then
    M.current = nil
  end
end

--- Show a prepared change as a diff in a new tab: `a` applies it, `q` discards it.
function M.open(change, instruction, message)
  local origin = vim.api.nvim_get_current_tabpage()
  vim.cmd('tab split')
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_win_set_buf(0, buf)
  vim.bo[buf].bufhidden = 'wipe'
  local header = {
    '# lspilot: ' .. instruction:gsub('\n', ' '),
    '# ' .. (message or ''),
    '# a: apply   q: discard',
  }
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.list_extend(header, M.diff_lines(change)))
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'diff'
  pcall(vim.api.nvim_buf_set_name, buf, 'lspilot://edit-preview/' .. buf)
  M.current = { buf = buf, change = change }
  local function key(lhs, desc, fn)
    vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, desc = 'lspilot: ' .. desc })
  end
  key('a', 'apply the edit', function()
    close(buf, origin)
    M.apply(change, message)
  end)
  key('q', 'discard the edit', function()
    close(buf, origin)
    notify('edit discarded; nothing was applied')
  end)
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      if M.current and M.current.buf == buf then
        M.current = nil
      end
    end,
  })
end

return M
