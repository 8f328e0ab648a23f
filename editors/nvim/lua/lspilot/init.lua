-- lspilot for Neovim 0.11+: starts `lspilot serve`, passes settings, shows ghost text, and
-- runs edits from an instruction (lspilot/edit.lua, lspilot/preview.lua).
-- The server owns prompts, templates, context and models; this plugin stays thin.
local M = {}

local defaults = {
  -- The server command; `lspilot` is found on PATH.
  cmd = { 'lspilot', 'serve' },
  -- Server settings, as in the README's settings table (camelCase keys).
  settings = {},
  -- Filetypes to attach to; nil attaches to every buffer with a file.
  filetypes = nil,
  -- Ghost text on Neovim 0.11 (0.12 uses vim.lsp.inline_completion).
  debounce_ms = 150,
  -- `cancel` stops an edit in flight (normal mode, only while one runs).
  keymaps = { accept = '<Tab>', dismiss = '<C-]>', cancel = '<C-c>' },
  -- Show an edit as a diff in a new tab before applying it (`a` applies, `q` discards).
  edit_preview = true,
}

M.config = vim.deepcopy(defaults)
-- The last state the server reported (lspilot/status, else $/progress and lspilot.status).
M.status = { state = 'starting' }

--- The running lspilot client attached to `bufnr` (or any, when nil).
function M.client(bufnr)
  return vim.lsp.get_clients({ name = 'lspilot', bufnr = bufnr })[1]
end

--- Which completion path is in use on this Neovim.
function M.path()
  if vim.lsp.inline_completion ~= nil then
    return 'vim.lsp.inline_completion (Neovim 0.12+)'
  end
  return 'lspilot ghost-text layer (Neovim 0.11)'
end

--- A short status for a statusline: `lspilot qwen2.5-coder:0.5b ready 120 ms`, and while an
--- edit runs its progress: `… · edit: writing: 120 tokens`.
function M.statusline()
  local s = M.status
  local model = s.model and vim.fs.basename(s.model) or ''
  local text = ('lspilot %s %s'):format(model, s.state)
  if s.latencyMs ~= nil and s.latencyMs ~= vim.NIL then
    text = ('%s %d ms'):format(text, s.latencyMs)
  end
  local edit = require('lspilot.edit').statusline()
  if edit then
    text = text .. ' · ' .. edit
  end
  return text
end

-- An empty Lua table encodes as a JSON array; the server wants an object.
local function object(t)
  return next(t) == nil and vim.empty_dict() or t
end

local function set_status(status)
  M.status = vim.tbl_extend('force', M.status, status)
  vim.api.nvim_exec_autocmds('User', { pattern = 'LspilotStatus', modeline = false })
end

local function server_commands(client)
  local provider = client.server_capabilities.executeCommandProvider
  return provider and provider.commands or {}
end

local function execute(client, command, args, callback)
  client:request('workspace/executeCommand', { command = command, arguments = args },
    function(err, result)
      if err then
        vim.notify(('lspilot: %s: %s'):format(command, err.message), vim.log.levels.ERROR)
        return
      end
      callback(result)
    end)
end

-- Without lspilot/status, ask lspilot.status until the model is ready or failed.
local function poll_status(client)
  if M.server_notifies then
    return
  end
  execute(client, 'lspilot.status', {}, function(result)
    if M.server_notifies or not result then
      return
    end
    set_status({ state = result.state, model = result.model, template = result.template })
    if result.state ~= 'ready' and result.state ~= 'error' and not client:is_stopped() then
      vim.defer_fn(function() poll_status(client) end, 500)
    end
  end)
end

local handlers = {
  ['window/showMessage'] = function(err, params, ctx, config)
    if require('lspilot.edit').hold(params) then
      return vim.NIL
    end
    return vim.lsp.handlers['window/showMessage'](err, params, ctx, config)
  end,
  ['lspilot/status'] = function(_, params)
    M.server_notifies = true
    set_status(params)
  end,
  ['lspilot/refresh'] = function(_, params)
    -- Neovim 0.12's vim.lsp.inline_completion asks again on its own next trigger.
    if vim.lsp.inline_completion == nil and params and params.uri then
      require('lspilot.ghost').refresh(params.uri)
    end
  end,
  ['$/progress'] = function(err, result, ctx, config)
    require('lspilot.edit').on_progress(result, ctx.client_id)
    local value = result and result.value or {}
    if not M.server_notifies and type(value) == 'table' then
      if value.kind == 'begin' then
        set_status({ state = 'loading', model = (value.title or ''):gsub('^lspilot: ', '') })
      elseif value.kind == 'end' then
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        if client then
          poll_status(client)
        end
      end
    end
    return vim.lsp.handlers['$/progress'](err, result, ctx, config)
  end,
}

local ROLES = { autocomplete = true, edit = true }

-- What the statusline shows while a role's model changes.
local function switching(role, id)
  if role == 'edit' then
    return { editModel = id }
  end
  return { state = 'loading', model = id }
end

--- Switch a role's model (`autocomplete`, the default, or `edit`): `name` is a catalog name or
--- a .gguf path; without one, pick from the server's list (lspilot.listModels) or type one.
function M.select_model(name, role)
  role = role or 'autocomplete'
  if not ROLES[role] then
    vim.notify(('lspilot: the role is autocomplete or edit, not %q'):format(role),
      vim.log.levels.ERROR)
    return
  end
  local client = M.client()
  if not client then
    vim.notify('lspilot: the server is not running', vim.log.levels.WARN)
    return
  end
  -- A name or path the user types is the `models.<role>` setting, which every server reads;
  -- a model picked from the server's own list goes through lspilot.selectModel.
  local function use_setting(id)
    if not id or vim.trim(id) == '' then
      return
    end
    id = vim.trim(id)
    M.config.settings = vim.tbl_deep_extend('force', M.config.settings,
      { models = { [role] = id } })
    client.settings = { lspilot = M.config.settings }
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
    set_status(switching(role, id))
    poll_status(client)
  end
  local function ask()
    vim.ui.input({ prompt = ('lspilot %s model (catalog name or .gguf path): '):format(role) },
      use_setting)
  end
  if name and name ~= '' then
    return use_setting(name)
  end
  local commands = server_commands(client)
  if not (vim.tbl_contains(commands, 'lspilot.listModels')
      and vim.tbl_contains(commands, 'lspilot.selectModel')) then
    return ask()
  end
  execute(client, 'lspilot.listModels', {}, function(list)
    local choices = vim.list_extend(vim.deepcopy(list.models), { { id = '' } })
    vim.ui.select(choices, {
      prompt = 'lspilot ' .. role .. ' model',
      format_item = function(m)
        if m.id == '' then
          return '  Other: a catalog name or a .gguf path'
        end
        local active = m.id == list.active[role] and '* ' or '  '
        return ('%s%s  %s%s'):format(active, m.id, m.description, m.cached and '' or ' (download)')
      end,
    }, function(choice)
      if not choice then
        return
      elseif choice.id == '' then
        ask()
      else
        execute(client, 'lspilot.selectModel', { { id = choice.id, role = role } },
          function() poll_status(client) end)
        set_status(switching(role, choice.id))
      end
    end)
  end)
end

--- The context snippets of an explained completion, one line each (those that went in first).
local function context_lines(context)
  if not context or context == vim.NIL then
    return { '--- context: none (the file\'s own text only) ---' }
  end
  local lines = { ('--- context (gathered in %s ms) ---'):format(context.gatherMs) }
  for _, group in ipairs({ context.snippets or {}, context.leftOut or {} }) do
    for _, s in ipairs(group) do
      lines[#lines + 1] = ('%s %.2f %-11s %s:%d-%d (%d tokens) %s'):format(
        s.included and 'in ' or 'out', s.score, s.source, s.path, s.lines[1], s.lines[2],
        s.tokens, s.reason)
    end
  end
  return lines
end

--- Show the exact prompt, its context and costs of the last completion in a scratch buffer.
function M.show_last_prompt()
  local client = M.client()
  if not client then
    vim.notify('lspilot: the server is not running', vim.log.levels.WARN)
    return
  end
  execute(client, 'lspilot.explainCompletion', {}, function(last)
    if not last or last == vim.NIL then
      vim.notify('lspilot: no completion yet')
      return
    end
    local lines = {}
    for _, key in ipairs(vim.tbl_keys(last)) do
      if key ~= 'prompt' and key ~= 'completion' and key ~= 'raw' and key ~= 'context' then
        lines[#lines + 1] = ('%s: %s'):format(key, vim.inspect(last[key]))
      end
    end
    table.sort(lines)
    lines[#lines + 1] = ''
    vim.list_extend(lines, context_lines(last.context))
    vim.list_extend(lines, { '', '--- prompt ---' })
    vim.list_extend(lines, vim.split(last.prompt, '\n', { plain = true }))
    vim.list_extend(lines, { '--- completion ---' })
    vim.list_extend(lines, vim.split(last.completion, '\n', { plain = true }))
    vim.cmd('botright new')
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    vim.api.nvim_buf_set_name(buf, 'lspilot://last-completion')
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].modifiable = false
  end)
end

local function user_commands()
  vim.api.nvim_create_user_command('LspilotModel', function(opts)
    local name, role = opts.fargs[1], opts.fargs[2]
    if #opts.fargs == 1 and ROLES[name] then -- `:LspilotModel edit` picks the edit model
      name, role = nil, name
    end
    M.select_model(name, role)
  end, { nargs = '*', desc = 'lspilot: switch a model: [NAME|PATH] [autocomplete|edit]' })
  local edit = require('lspilot.edit')
  vim.api.nvim_create_user_command('LspilotEdit', edit.command,
    { nargs = '*', range = true, desc = 'lspilot: edit the selection (or file) as instructed' })
  vim.api.nvim_create_user_command('LspilotEditFiles', edit.files_command,
    { nargs = '*', desc = 'lspilot: pick listed buffers and edit them as instructed' })
  vim.api.nvim_create_user_command('LspilotCancel', function() edit.cancel() end,
    { desc = 'lspilot: cancel the edit in flight' })
  vim.api.nvim_create_user_command('LspilotLastPrompt', M.show_last_prompt,
    { desc = 'lspilot: show the prompt of the last completion' })
  vim.api.nvim_create_user_command('LspilotStatus', function() print(M.statusline()) end,
    { desc = 'lspilot: show the server state' })
end

--- Configure and enable lspilot. `opts` overrides the defaults above.
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  local config = M.config
  vim.lsp.config('lspilot', {
    cmd = config.cmd,
    filetypes = config.filetypes,
    root_markers = { '.git' },
    init_options = object(config.settings),
    settings = { lspilot = object(config.settings) },
    handlers = handlers,
    -- The code action carries `lspilot.edit` without an instruction: ask for one here.
    commands = {
      ['lspilot.edit'] = function(command, ctx) require('lspilot.edit').code_action(command, ctx) end,
    },
    on_init = function(client)
      set_status({ state = 'loading', model = (config.settings.models or {}).autocomplete })
      poll_status(client)
    end,
    on_exit = function()
      set_status({ state = 'stopped' })
    end,
  })
  vim.lsp.enable('lspilot')
  if vim.lsp.inline_completion ~= nil then
    vim.lsp.inline_completion.enable(true)
    vim.keymap.set('i', config.keymaps.accept, function()
      if not vim.lsp.inline_completion.get() then
        return config.keymaps.accept
      end
    end, { expr = true, replace_keycodes = true, desc = 'lspilot: accept the completion' })
  else
    require('lspilot.ghost').setup(config)
  end
  user_commands()
end

return M
