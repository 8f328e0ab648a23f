-- A minimal test runner for `nvim --headless --clean -l FILE_test.lua`: `test(name, fn)`
-- registers a test, `run()` runs them in order, prints `ok`/`FAIL` per test and exits 1 when
-- any failed (tests/test_nvim_lua.py runs every *_test.lua this way).
local M = { tests = {} }

local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
vim.opt.rtp:prepend(vim.fs.dirname(here)) -- editors/nvim

function M.test(name, fn)
  M.tests[#M.tests + 1] = { name = name, fn = fn }
end

function M.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%sexpected %s, got %s'):format(what and (what .. ': ') or '', vim.inspect(expected),
      vim.inspect(actual)), 2)
  end
end

function M.truthy(value, what)
  if not value then
    error((what or 'expected a true value') .. ', got ' .. vim.inspect(value), 2)
  end
end

--- Collect vim.notify calls while `fn` runs: { {message, level}, ... }.
function M.notes(fn)
  local seen, notify = {}, vim.notify
  vim.notify = function(message, level) seen[#seen + 1] = { message, level } end
  local ok, err = pcall(fn)
  vim.notify = notify
  if not ok then
    error(err, 0)
  end
  return seen
end

--- A fresh temporary folder.
function M.tempdir()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  return vim.uv.fs_realpath(dir)
end

function M.run()
  local failed = 0
  for _, t in ipairs(M.tests) do
    -- Each test starts from one empty buffer in one tab.
    vim.cmd('silent! tabonly | silent! only | enew!')
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if buf ~= vim.api.nvim_get_current_buf() then
        vim.api.nvim_buf_delete(buf, { force = true })
      end
    end
    local start = vim.uv.hrtime()
    local ok, err = xpcall(t.fn, debug.traceback)
    local ms = (vim.uv.hrtime() - start) / 1e6
    if ok then
      io.stdout:write(('ok %s (%.0f ms)\n'):format(t.name, ms))
    else
      failed = failed + 1
      io.stdout:write(('FAIL %s\n%s\n'):format(t.name, err))
    end
  end
  io.stdout:write(('%d passed, %d failed\n'):format(#M.tests - failed, failed))
  os.exit(failed > 0 and 1 or 0)
end

return M
