-- Ghost text for Neovim 0.11, which has no inline-completion UI: after a short pause in insert
-- mode ask the server for `textDocument/inlineCompletion`, show the first item as virtual
-- text at the cursor, accept it with a key, and drop it (and any request in flight) when the
-- cursor moves, the text changes or insert mode ends.
local M = {}

M.ns = vim.api.nvim_create_namespace('lspilot.ghost')

-- One suggestion at a time: where it is, its text, and the request or timer behind it.
local state = { buf = nil, row = nil, col = nil, text = nil, request = nil }
local timer = nil

local function clear()
  if state.buf and vim.api.nvim_buf_is_valid(state.buf) then
    vim.api.nvim_buf_clear_namespace(state.buf, M.ns, 0, -1)
  end
  state.text = nil
end

local function cancel()
  if timer then
    timer:stop()
  end
  if state.request then
    local client, id = state.request[1], state.request[2]
    state.request = nil
    if not client:is_stopped() then
      client:cancel_request(id)
    end
  end
end

--- Hide the suggestion and cancel the request in flight.
function M.dismiss()
  cancel()
  clear()
end

--- Whether a request is in flight.
function M.pending()
  return state.request ~= nil
end

--- The suggestion shown now, or nil.
function M.visible()
  return state.text
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

-- The text to show for an item: what it inserts past what is already typed in its range.
local function ghost_text(item, encoding, row, col)
  local text = item.insertText
  if type(text) == 'table' then
    text = text.value -- a snippet: shown and inserted as plain text
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  local range = item.range
  if range == nil or range == vim.NIL then
    return text
  end
  if range.start.line ~= row then
    return nil
  end
  local line = vim.api.nvim_buf_get_lines(0, row, row + 1, false)[1] or ''
  local start = vim.str_byteindex(line, encoding, range.start.character, false)
  local typed = line:sub(start + 1, col)
  if text:sub(1, #typed) ~= typed then
    return nil
  end
  return text:sub(#typed + 1)
end

local function show(buf, row, col, text)
  clear()
  local lines = vim.split(text, '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], 'LspilotGhost' } }
  end
  vim.api.nvim_buf_set_extmark(buf, M.ns, row, col, {
    virt_text = { { lines[1], 'LspilotGhost' } },
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
  })
  state.buf, state.row, state.col, state.text = buf, row, col, text
end

local function request(buf)
  local client = require('lspilot').client(buf)
  if not client or vim.api.nvim_get_current_buf() ~= buf then
    return
  end
  local row, col = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  local encoding = client.offset_encoding
  local params = vim.lsp.util.make_position_params(0, encoding)
  params.context = { triggerKind = 2 } -- Automatic
  local id
  local function on_result(err, result)
    if state.request and state.request[2] == id then
      state.request = nil
    end
    -- Drop stale answers: another buffer, other text, another cursor, or out of insert mode.
    if err or not result or vim.api.nvim_get_current_buf() ~= buf
        or vim.api.nvim_buf_get_changedtick(buf) ~= tick
        or not vim.startswith(vim.api.nvim_get_mode().mode, 'i') then
      return
    end
    local now_row, now_col = cursor()
    if now_row ~= row or now_col ~= col then
      return
    end
    local items = result.items or result
    local text = items[1] and ghost_text(items[1], encoding, row, col)
    if text and text ~= '' then
      show(buf, row, col, text)
    end
  end
  local ok
  ok, id = client:request('textDocument/inlineCompletion', params, on_result, buf)
  if ok then
    state.request = { client, id }
  end
end

local function schedule(buf, delay)
  M.dismiss()
  state.buf = buf
  state.row, state.col = cursor()
  timer = timer or vim.uv.new_timer()
  timer:start(delay, 0, vim.schedule_wrap(function() request(buf) end))
end

--- The server has a newer suggestion for `uri` (`lspilot/refresh`): ask again when that
--- buffer is current and in insert mode.
function M.refresh(uri)
  local buf = vim.api.nvim_get_current_buf()
  if vim.uri_from_bufnr(buf) ~= uri or not vim.startswith(vim.api.nvim_get_mode().mode, 'i') then
    return
  end
  request(buf)
end

--- Insert the suggestion at the cursor; false when there is none.
function M.accept()
  local text = state.text
  if not text then
    return false
  end
  local buf, row, col = state.buf, state.row, state.col
  M.dismiss()
  local lines = vim.split(text, '\n', { plain = true })
  vim.api.nvim_buf_set_text(buf, row, col, row, col, lines)
  local last_col = (#lines == 1 and col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + #lines, last_col })
  return true
end

local function fallback(key)
  vim.api.nvim_feedkeys(vim.keycode(key), 'n', false)
end

--- Autocommands and keys; `config` is lspilot's (debounce_ms, keymaps).
function M.setup(config)
  vim.api.nvim_set_hl(0, 'LspilotGhost', { link = 'Comment', default = true })
  local group = vim.api.nvim_create_augroup('lspilot.ghost', { clear = true })
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'TextChangedP' }, {
    group = group,
    callback = function(args)
      if require('lspilot').client(args.buf) then
        schedule(args.buf, config.debounce_ms)
      end
    end,
  })
  vim.api.nvim_create_autocmd('CursorMovedI', {
    group = group,
    callback = function()
      local row, col = cursor()
      if row ~= state.row or col ~= state.col then
        M.dismiss()
      end
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    callback = M.dismiss,
  })
  vim.keymap.set('i', config.keymaps.accept, function()
    if not M.accept() then
      fallback(config.keymaps.accept)
    end
  end, { desc = 'lspilot: accept the suggestion' })
  vim.keymap.set('i', config.keymaps.dismiss, function()
    if state.text then
      M.dismiss()
    else
      fallback(config.keymaps.dismiss)
    end
  end, { desc = 'lspilot: dismiss the suggestion' })
end

return M
