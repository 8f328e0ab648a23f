-- Edits from an instruction: the server's `lspilot.edit` gathers the files, runs the model and
-- checks its answer. This module asks for the instruction and the files, follows the edit's
-- progress, cancels it, and hands the result (requested with `apply = false`) to the preview.
local M = {}

-- The edit in flight: { client, id, instruction, token, message, held, key, saved_key }.
M.running = nil

local function notify(message, level)
  if not vim.startswith(message, 'lspilot') then
    message = 'lspilot: ' .. message
  end
  vim.notify(message, level or vim.log.levels.INFO)
end

local function changed()
  vim.api.nvim_exec_autocmds('User', { pattern = 'LspilotStatus', modeline = false })
  vim.cmd.redrawstatus()
end

local function position(line, row, col, encoding)
  return { line = row, character = vim.str_utfindex(line, encoding, math.min(col, #line), false) }
end

--- The LSP range of lines `first`..`last` (1-based) of `buf`: whole lines, or the characters
--- between the visual marks when the last visual selection was charwise over those lines.
function M.selection_range(buf, first, last, encoding)
  local lines = vim.api.nvim_buf_get_lines(buf, first - 1, last, false)
  local start_col, end_col = 0, #lines[#lines]
  local from, to = vim.api.nvim_buf_get_mark(buf, '<'), vim.api.nvim_buf_get_mark(buf, '>')
  if vim.fn.visualmode() == 'v' and from[1] == first and to[1] == last then
    start_col = from[2]
    -- The end mark is on the selection's last character (a huge column after `$`).
    local rest = lines[#lines]:sub(to[2] + 1)
    if rest ~= '' then
      end_col = to[2] + #vim.fn.strcharpart(rest, 0, 1)
    end
  end
  return {
    start = position(lines[1], first - 1, start_col, encoding),
    ['end'] = position(lines[#lines], last - 1, end_col, encoding),
  }
end

local function cancel_key_on(edit)
  local key = require('lspilot').config.keymaps.cancel
  if not key or key == '' then
    return
  end
  -- The user's global mapping of the key comes back afterwards (buffer-local ones are left
  -- alone, and win over ours in their buffers).
  for _, map in ipairs(vim.api.nvim_get_keymap('n')) do
    if vim.keycode(map.lhs) == vim.keycode(key) then
      edit.saved_key = map
    end
  end
  edit.key = key
  vim.keymap.set('n', key, M.cancel, { desc = 'lspilot: cancel the edit' })
end

local function cancel_key_off(edit)
  if edit.key then
    pcall(vim.keymap.del, 'n', edit.key)
    if edit.saved_key then
      vim.fn.mapset('n', false, edit.saved_key)
    end
  end
end

local function stop(edit)
  if M.running == edit then
    M.running = nil
  end
  cancel_key_off(edit)
  changed()
end

--- Hold the server's error messages while an edit runs (true when held): a model that fails
--- to load is told through `window/showMessage` and again as the edit's error.
function M.hold(params)
  local edit = M.running
  if edit == nil or type(params) ~= 'table' or params.type ~= 1 then
    return false
  end
  edit.held[#edit.held + 1] = params.message
  return true
end

-- Show the held messages, but not one that the edit's error already says.
local function release(edit, error_message)
  for _, message in ipairs(edit.held) do
    local said = message:gsub('^lspilot: ', '')
    if not (error_message and error_message:find(said, 1, true)) then
      notify(message, vim.log.levels.ERROR)
    end
  end
  edit.held = {}
end

local function finished(edit, err, result)
  if M.running ~= edit then
    return -- cancelled meanwhile: whatever came back is dropped
  end
  stop(edit)
  if err then
    local message = err.message or tostring(err)
    release(edit, message)
    notify(message, vim.log.levels.ERROR)
    return
  end
  release(edit)
  if type(result) ~= 'table' or type(result.edit) ~= 'table' or #(result.files or {}) == 0 then
    notify('the edit changes nothing' .. (type(result) == 'table' and result.message
      and (': ' .. result.message) or ''), vim.log.levels.WARN)
    return
  end
  M.when_normal(function()
    local preview = require('lspilot.preview')
    -- Whatever goes wrong here is one message, never a stack trace.
    local ok, err = pcall(function()
      local change, problem = preview.prepare(result.edit, edit.client.offset_encoding)
      if change == nil then
        notify(problem, vim.log.levels.ERROR)
      elseif require('lspilot').config.edit_preview then
        preview.open(change, edit.instruction, result.message)
      else
        preview.apply(change, result.message)
      end
    end)
    if not ok then
      notify('the edit could not be shown: ' .. tostring(err), vim.log.levels.ERROR)
    end
  end)
end

--- Run `fn` once the user is in normal or visual mode: a tab cannot open while the command
--- line is edited, and text should not change under insert mode's cursor.
function M.when_normal(fn)
  local mode = vim.api.nvim_get_mode()
  if mode.blocking or not mode.mode:match('^[nvV\22]') then
    vim.defer_fn(function() M.when_normal(fn) end, 100)
  else
    fn()
  end
end

--- Ask the server for an edit: `args` is lspilot.edit's argument (instruction, uris, range).
function M.run(args, buf)
  local client = require('lspilot').client(buf) or require('lspilot').client()
  if client == nil then
    notify('the server is not running', vim.log.levels.WARN)
    return
  end
  if M.running then
    notify('an edit is running: :LspilotCancel stops it', vim.log.levels.WARN)
    return
  end
  local edit = { client = client, instruction = args.instruction, message = 'starting', held = {} }
  local argument = vim.tbl_extend('force', args, { apply = false })
  local ok, id = client:request('workspace/executeCommand',
    { command = 'lspilot.edit', arguments = { argument } },
    function(err, result) finished(edit, err, result) end, buf)
  if not ok then
    notify('the server is not running', vim.log.levels.ERROR)
    return
  end
  edit.id = id
  M.running = edit
  cancel_key_on(edit)
  changed()
end

--- Cancel the edit in flight; nothing is applied.
function M.cancel()
  local edit = M.running
  if edit == nil then
    notify('no edit is running')
    return false
  end
  stop(edit)
  if not edit.client:is_stopped() then
    edit.client:cancel_request(edit.id)
  end
  release(edit)
  notify('edit cancelled; nothing was applied')
  return true
end

--- Follow the edit's `$/progress`: the cancellable sequence the server begins for it.
function M.on_progress(params, client_id)
  local edit, value = M.running, params and params.value
  if edit == nil or edit.client.id ~= client_id or type(value) ~= 'table' then
    return
  end
  if value.kind == 'begin' and value.cancellable and edit.token == nil then
    edit.token = params.token
  end
  if params.token == edit.token and value.message then
    edit.message = value.message
    changed()
  end
end

--- The edit's part of the statusline, or nil when none runs.
function M.statusline()
  local edit = M.running
  if edit == nil then
    return nil
  end
  local status = require('lspilot').status
  if status.editState == 'loading' and edit.message == 'gathering the files' then
    return 'edit: loading ' .. vim.fs.basename(status.editModel or 'the model')
  end
  return 'edit: ' .. edit.message
end

local function ask(on_instruction)
  vim.ui.input({ prompt = 'lspilot edit: ' }, function(instruction)
    if instruction and vim.trim(instruction) ~= '' then
      on_instruction(vim.trim(instruction))
    end
  end)
end

--- `:[range]LspilotEdit [instruction]`: the selection (or the whole file) and what the
--- server brings in.
function M.command(opts)
  local buf = vim.api.nvim_get_current_buf()
  local client = require('lspilot').client(buf)
  if client == nil then
    notify('the server is not attached to this buffer', vim.log.levels.WARN)
    return
  end
  local uri = vim.uri_from_bufnr(buf)
  local args = {}
  if opts.range > 0 then
    args.range = { uri = uri,
      range = M.selection_range(buf, opts.line1, opts.line2, client.offset_encoding) }
  else
    args.uris = { uri }
  end
  local function go(instruction)
    args.instruction = instruction
    M.run(args, buf)
  end
  if opts.args ~= '' then
    go(opts.args)
  else
    ask(go)
  end
end

--- The code action's command (`lspilot.edit` with a range and no instruction): ask for one.
function M.code_action(command, ctx)
  local argument = vim.deepcopy((command.arguments or {})[1] or {})
  local function go(instruction)
    argument.instruction = instruction
    M.run(argument, ctx and ctx.bufnr)
  end
  if type(argument.instruction) == 'string' and argument.instruction ~= '' then
    go(argument.instruction)
  else
    ask(go)
  end
end

--- The listed buffers with a file under `root` (any when nil), current buffer first.
function M.listed_files(root)
  local files, current = {}, vim.api.nvim_buf_get_name(0)
  for _, info in ipairs(vim.fn.getbufinfo({ buflisted = 1 })) do
    if info.name ~= '' and vim.bo[info.bufnr].buftype == ''
        and (root == nil or vim.startswith(info.name, root .. '/')) then
      table.insert(files, info.name == current and 1 or #files + 1, info.name)
    end
  end
  return files
end

local DONE = {}

--- Pick several of `files` with vim.ui.select (each pick toggles one; the first item ends),
--- starting with `picked` (a set); `on_done` gets the picked files in order, or nil.
function M.pick_files(files, picked, on_done)
  local count = vim.tbl_count(picked)
  vim.ui.select(vim.list_extend({ DONE }, files), {
    prompt = 'lspilot: files to edit',
    format_item = function(item)
      if item == DONE then
        return ('Edit the %d picked file%s'):format(count, count == 1 and '' or 's')
      end
      return (picked[item] and '[x] ' or '[ ] ') .. vim.fn.fnamemodify(item, ':~:.')
    end,
  }, function(choice)
    if choice == nil then
      return on_done(nil)
    elseif choice ~= DONE then
      picked[choice] = (not picked[choice]) or nil
      return M.pick_files(files, picked, on_done)
    end
    local chosen = vim.tbl_filter(function(f) return picked[f] end, files)
    on_done(#chosen > 0 and chosen or nil)
  end)
end

--- `:LspilotEditFiles [instruction]`: pick listed buffers (the current one picked), then edit.
function M.files_command(opts)
  local client = require('lspilot').client()
  if client == nil then
    notify('the server is not running', vim.log.levels.WARN)
    return
  end
  local files = M.listed_files(client.root_dir)
  if #files == 0 then
    notify('no listed buffer is a file in the workspace', vim.log.levels.WARN)
    return
  end
  local picked = {}
  if files[1] == vim.api.nvim_buf_get_name(0) then
    picked[files[1]] = true
  end
  M.pick_files(files, picked, function(chosen)
    if chosen == nil then
      return
    end
    local function go(instruction)
      M.run({ instruction = instruction, uris = vim.tbl_map(vim.uri_from_fname, chosen) })
    end
    if opts.args ~= '' then
      go(opts.args)
    else
      ask(go)
    end
  end)
end

return M
