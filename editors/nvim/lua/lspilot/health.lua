-- :checkhealth lspilot — the server, its version, the model, and which completion path runs.
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

  local model = (lspilot.config.settings.models or {}).autocomplete
  if model and model:match('%.gguf$') then
    if vim.fn.filereadable(vim.fn.expand(model)) == 1 then
      vim.health.ok('model: ' .. model)
    else
      vim.health.error('model: ' .. model .. ' is not a readable file')
    end
    return
  end
  local backend = model and (model:match('^(ollama):') or model:match('^(openai):')
    or model:match('^(llama%-server):'))
  if backend then
    vim.health.info('model: ' .. model .. ' runs on ' .. backend .. '; not checked here')
    return
  end
  local list, list_err = run(vim.list_extend(vim.deepcopy(base), { 'models', 'list' }))
  if not list then
    vim.health.error('model: `lspilot models list` failed: ' .. list_err)
    return
  end
  -- Without a setting: the model chosen with `lspilot models use`, else the catalog default.
  model = model or list:match('\nautocomplete: (%S+)')
  for line in vim.gsplit(list, '\n') do
    local name = line:match('^(%S+)')
    if (model and name == model) or (not model and line:find('(default)', 1, true)) then
      if line:find(' cached ', 1, true) then
        vim.health.ok('model: ' .. name .. ' (cached)')
      else
        vim.health.warn('model: ' .. name .. ' is not downloaded yet; the server fetches it '
          .. 'on first start', { 'lspilot models pull ' .. name })
      end
      return
    end
  end
  vim.health.error('model: ' .. tostring(model) .. ' is not in the catalog',
    { 'see `lspilot models list`, or set a .gguf path' })
end

return M
