-- :checkhealth lspilot — the server, its version, the models (autocomplete and edit), and
-- which completion path runs.
local M = {}

-- The command up to `serve` (e.g. { 'lspilot' } or { 'python', '-m', 'lspilot' }).
local function base_command(cmd)
  local base = {}
  for _, part in ipairs(cmd) do
    if part == 'serve' then
      break
    end
    base[#base + 1] = part
  end
  return base
end

local function run(cmd)
  local ok, result = pcall(function() return vim.system(cmd, { text = true }):wait(30000) end)
  if not ok then
    return nil, tostring(result)
  end
  if result.code ~= 0 then
    return nil, vim.trim((result.stderr or '') .. (result.stdout or ''))
  end
  return vim.trim(result.stdout or '')
end

-- One role's model: a readable .gguf, a model on a server, or a catalog model (cached or not).
local function check_model(label, model, list, list_err, fetched)
  if model and model:match('%.gguf$') then
    if vim.fn.filereadable(vim.fn.expand(model)) == 1 then
      vim.health.ok(label .. ': ' .. model)
    else
      vim.health.error(label .. ': ' .. model .. ' is not a readable file')
    end
    return
  end
  local backend = model and (model:match('^(ollama):') or model:match('^(openai):')
    or model:match('^(llama%-server):'))
  if backend then
    vim.health.info(label .. ': ' .. model .. ' runs on ' .. backend .. '; not checked here')
    return
  end
  if not list then
    vim.health.error(label .. ': `lspilot models list` failed: ' .. list_err)
    return
  end
  -- Without a setting: the model chosen with `lspilot models use`, else the catalog default.
  model = model or list:match('\nautocomplete: (%S+)')
  for line in vim.gsplit(list, '\n') do
    local name = line:match('^(%S+)')
    if (model and name == model) or (not model and line:find('(default)', 1, true)) then
      if line:find(' cached ', 1, true) then
        vim.health.ok(label .. ': ' .. name .. ' (cached)')
      else
        vim.health.warn(label .. ': ' .. name .. ' is not downloaded yet; the server fetches it '
          .. fetched, { 'lspilot models pull ' .. name })
      end
      return
    end
  end
  vim.health.error(label .. ': ' .. tostring(model) .. ' is not in the catalog',
    { 'see `lspilot models list`, or set a .gguf path' })
end

function M.check()
  local lspilot = require('lspilot')
  vim.health.start('lspilot')
  local v = vim.version()
  local version = ('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok(version)
  else
    vim.health.error(version .. ': lspilot needs Neovim 0.11 or newer')
  end
  vim.health.info('completion path: ' .. lspilot.path())

  local base = base_command(lspilot.config.cmd)
  if vim.fn.executable(base[1]) ~= 1 then
    vim.health.error(('server: `%s` not found'):format(base[1]),
      { 'install lspilot (`make install` in its checkout) and put it on PATH',
        'or pass `cmd = { "/path/to/lspilot", "serve" }` to setup{}' })
    return
  end
  local out, err = run(vim.list_extend(vim.deepcopy(base), { '--version' }))
  if not out then
    vim.health.error('server: `' .. table.concat(base, ' ') .. ' --version` failed: ' .. err)
    return
  end
  vim.health.ok(('server: %s (%s)'):format(out, vim.fn.exepath(base[1])))

  local models = lspilot.config.settings.models or {}
  local list, list_err = run(vim.list_extend(vim.deepcopy(base), { 'models', 'list' }))
  check_model('model', models.autocomplete, list, list_err, 'on first start')
  -- The edit model: the running server's (its default, a selection or the setting), else the
  -- setting or the one chosen with `lspilot models use --role edit`.
  local edit = models.edit or (list and list:match('\nedit: (%S+)'))
  local client = lspilot.client()
  local reply = client and client:request_sync('workspace/executeCommand',
    { command = 'lspilot.status' }, 5000)
  local live = reply and reply.result and reply.result.edit
  if live and live.model then
    vim.health.info(('edit model in the server: %s (%s)'):format(live.model, live.state))
    edit = live.model
  end
  if edit then
    check_model('edit model', edit, list, list_err, 'on the first edit')
  else
    vim.health.info('edit model: the server\'s default (start the server to see which)')
  end
end

return M
