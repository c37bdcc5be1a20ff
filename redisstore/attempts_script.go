package redisstore

import "github.com/redis/go-redis/v9"

// attemptScript is every step of Attempts: one script, the step named in
// ARGV[1]. It mirrors attempt.Memory (attemptEntry.settle and the
// steps around it) line for line; a change there needs the same change here.
//
// Times are exact nanoseconds, carried as (seconds, nanoseconds) pairs
// because Lua numbers are doubles (53 bits: not enough for Unix nanoseconds,
// plenty for each half). A stamp is a sorted-set entry scored by its Unix
// second, member "<nanoseconds, 9 digits>:<token>", so that ZRANGE order is
// exact time order (stamps alike in time and token are told apart by a
// "#<k>" suffix). The lock time is the string "<Unix seconds>.<9 digits>".
// Stamps live in parallel arrays rather than one table each: Redis's Lua
// allocates slowly, and the script runs on every login attempt.
//
// KEYS: per counter, its failures (sorted set), reservations (sorted set)
// and lock time (string).
//
// ARGV: op, now_s, now_ns, cooloff_s, cooloff_ns, timeout_s, timeout_ns,
// window_s, window_ns, attempt_expiry (0/1), token, ttl_ms, then per counter
// its limit and reset-on-success flag (0/1).
//
// ops: reserve; probe (reserve's settling and checks, never a reservation:
// Cluster, after another slot refused); undo (drop the token's reservation:
// Cluster compensation); fail; release; status (writes nothing).
//
// Reply: ok (reserve, probe), then per counter failures, reserved, locked,
// locked_at_s, locked_at_ns, has_until, until_s, until_ns, locked_now.
var attemptScript = redis.NewScript(`
local op, token, ttl = ARGV[1], ARGV[11], ARGV[12]
local now_s, now_n = tonumber(ARGV[2]), tonumber(ARGV[3])
local cool_s, cool_n = tonumber(ARGV[4]), tonumber(ARGV[5])
local to_s, to_n = tonumber(ARGV[6]), tonumber(ARGV[7])
local win_s, win_n = tonumber(ARGV[8]), tonumber(ARGV[9])
local expiry = ARGV[10] == '1'
local cool_pos = cool_s > 0 or cool_n > 0
local to_pos = to_s > 0 or to_n > 0
local E = 1000000000

-- due reports whether time (s, n) plus duration (ds, dn) is now or past.
local function due(s, n, ds, dn)
  s, n = s + ds, n + dn
  if n >= E then s, n = s + 1, n - E end
  return s < now_s or (s == now_s and n <= now_n)
end

-- A set holds its stamps in time order in parallel arrays S (seconds), N
-- (nanoseconds) and T (tokens). app counts stamps appended since it was
-- read; any other change makes it dirty (rewritten whole).
local function read(key)
  local set = {key = key, S = {}, N = {}, T = {}, dirty = false, app = 0}
  local raw = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  for j = 1, #raw, 2 do
    local m, k = raw[j], (j + 1) / 2
    local h = string.find(m, '#', 11, true)
    set.S[k], set.N[k], set.T[k] = tonumber(raw[j + 1]), tonumber(string.sub(m, 1, 9)), string.sub(m, 11, (h or 0) - 1)
  end
  return set
end

-- put inserts a stamp after those made at the same time or before.
local function put(set, s, n, t)
  local S, N = set.S, set.N
  local i = #S + 1
  while i > 1 and (S[i - 1] > s or (S[i - 1] == s and N[i - 1] > n)) do i = i - 1 end
  if i <= #S then set.dirty = true else set.app = set.app + 1 end
  table.insert(S, i, s)
  table.insert(N, i, n)
  table.insert(set.T, i, t)
end

-- drop removes stamp j (clear: all of them).
local function drop(set, j, clear)
  if clear then
    if #set.S > 0 then set.S, set.N, set.T, set.dirty = {}, {}, {}, true end
    return
  end
  set.dirty = true
  table.remove(set.S, j)
  table.remove(set.N, j)
  return table.remove(set.T, j)
end

local function find(set, t)
  for j = 1, #set.T do
    if set.T[j] == t then return j end
  end
end

-- Counters are read once per call (a key given twice is one counter, as in
-- memory), except by status, which judges each occurrence afresh.
local cache, loaded = {}, {}
local function load(i)
  local kf = KEYS[3 * i - 2]
  if op ~= 'status' and cache[kf] then return cache[kf] end
  local e = {f = read(kf), r = read(KEYS[3 * i - 1]), kl = KEYS[3 * i], locked = false, ls = 0, ln = 0, ld = false}
  local l = redis.call('GET', e.kl)
  if l then
    local dot = string.find(l, '.', 1, true)
    e.locked, e.ls, e.ln = true, tonumber(string.sub(l, 1, dot - 1)), tonumber(string.sub(l, dot + 1))
  end
  e.existed = e.locked or #e.f.S > 0 or #e.r.S > 0
  cache[kf] = e
  loaded[#loaded + 1] = e
  return e
end

-- settle is core's attemptEntry.settle: timed-out reservations become
-- failures, a lock that ended (or whose limit was raised above the failures)
-- is lifted, failures below the limit expire, and failures at the limit lock
-- the counter. It reports whether it locked it.
local function settle(e, limit)
  local f, r = e.f, e.r
  if to_pos then
    local j = 1
    while j <= #r.S do
      if due(r.S[j], r.N[j], to_s, to_n) then
        local s, n = r.S[j] + to_s, r.N[j] + to_n
        if n >= E then s, n = s + 1, n - E end
        put(f, s, n, drop(r, j))
      else
        j = j + 1
      end
    end
  end
  if e.locked then
    if #f.S < limit then
      e.locked, e.ls, e.ln, e.ld = false, 0, 0, true
    elseif cool_pos and due(e.ls, e.ln, cool_s, cool_n) then
      drop(f, 0, true)
      e.locked, e.ls, e.ln, e.ld = false, 0, 0, true
    end
  end
  if e.locked then return false end
  local n = #f.S
  if n > 0 then
    if expiry and cool_pos then
      while #f.S > 0 and due(f.S[1], f.N[1], cool_s, cool_n) do drop(f, 1) end
    elseif due(f.S[n], f.N[n], win_s, win_n) then
      drop(f, 0, true)
    end
  end
  if #f.S >= limit then
    if cool_pos and due(f.S[limit], f.N[limit], cool_s, cool_n) then
      drop(f, 0, true)
      return false
    end
    e.locked, e.ls, e.ln, e.ld = true, f.S[limit], f.N[limit], true
    return true
  end
  return false
end

local out = {1}
local function state(e, limit, lockedNow)
  local nf, r = #e.f.S, e.r
  local nr = #r.S
  local locked, hu, us, un = 0, 0, 0, 0
  if e.locked then
    locked = 1
    if cool_pos then hu, us, un = 1, e.ls + cool_s, e.ln + cool_n end
  elseif nr > 0 and nf + nr >= limit then
    hu, us, un = 1, r.S[1] + to_s, r.N[1] + to_n -- the oldest: sets are in time order
  end
  if un >= E then us, un = us + 1, un - E end
  local k = #out
  out[k + 1], out[k + 2], out[k + 3], out[k + 4], out[k + 5] = nf, nr, locked, e.ls, e.ln
  out[k + 6], out[k + 7], out[k + 8], out[k + 9] = hu, us, un, lockedNow and 1 or 0
end

local function flush(set)
  local from = 1
  if set.dirty then
    redis.call('DEL', set.key)
  else
    from = #set.S - set.app + 1
  end
  local args, S, N, T = {}, set.S, set.N, set.T
  for j = from, #S do
    local m = string.format('%09d:%s', N[j], T[j])
    -- Stamps alike in time and token (a key given twice, a token used
    -- twice) stay apart: "#<k>" for the k-th repeat, ignored when read.
    local k, i = 0, j - 1
    while i > 0 and S[i] == S[j] and N[i] == N[j] do
      if T[i] == T[j] then k = k + 1 end
      i = i - 1
    end
    if k > 0 then m = m .. '#' .. k end
    args[#args + 1] = S[j]
    args[#args + 1] = m
    if #args >= 512 then redis.call('ZADD', set.key, unpack(args)); args = {} end
  end
  if #args > 0 then redis.call('ZADD', set.key, unpack(args)) end
end

-- save writes what the call changed. A counter expires ttl after its last
-- change, except a lock without end (cool-off 0), kept until Reset.
local function save(e)
  local f, r, kl = e.f, e.r, e.kl
  if not e.locked and #f.S == 0 and #r.S == 0 then
    if e.existed then redis.call('DEL', f.key, r.key, kl) end
    return
  end
  local perm = e.locked and not cool_pos
  if f.dirty or f.app > 0 or r.dirty or r.app > 0 or e.ld then
    flush(f)
    flush(r)
    if e.ld then
      if e.locked then redis.call('SET', kl, string.format('%d.%09d', e.ls, e.ln))
      else redis.call('DEL', kl) end
    end
  else
    -- Unchanged: fix the expiry only if the cool-off changed to or from 0.
    local rep = kl
    if not e.locked then rep = (#f.S > 0) and f.key or r.key end
    local pt = redis.call('PTTL', rep)
    if (pt == -1) == perm then return end
  end
  -- Only keys that hold something exist.
  for k = 1, 3 do
    local key, has = f.key, #f.S > 0
    if k == 2 then key, has = r.key, #r.S > 0 elseif k == 3 then key, has = kl, e.locked end
    if has then
      if perm then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, ttl) end
    end
  end
end

for i = 1, #KEYS / 3 do
  local e, limit = load(i), tonumber(ARGV[11 + 2 * i])
  if op == 'reserve' or op == 'probe' then
    out[#out + 1] = settle(e, limit)
    if e.locked or #e.f.S + #e.r.S >= limit then out[1] = 0 end
  elseif op == 'fail' or op == 'release' then
    -- Take the token's own reservation out before settling, so that a late
    -- outcome replaces its timeout instead of following it.
    local j, ms, mn = find(e.r, token)
    if j then ms, mn = e.r.S[j], e.r.N[j]; drop(e.r, j) end
    local ln = settle(e, limit)
    if op == 'fail' then
      if j then
        local s, n = now_s, now_n
        if to_pos then
          local ts, tn = ms + to_s, mn + to_n
          if tn >= E then ts, tn = ts + 1, tn - E end
          if ts < now_s or (ts == now_s and tn < now_n) then s, n = ts, tn end -- it had timed out: it failed then
        end
        put(e.f, s, n, token)
      end
    else
      if not j then -- another call timed it out into a failure: take it back
        local k = find(e.f, token)
        if k then drop(e.f, k) end
      end
      if ARGV[12 + 2 * i] == '1' then
        drop(e.f, 0, true)
        if e.locked then e.locked, e.ls, e.ln, e.ld = false, 0, 0, true end
      end
    end
    ln = settle(e, limit) or ln
    state(e, limit, ln)
  elseif op == 'undo' then
    local j = find(e.r, token)
    while j do
      drop(e.r, j)
      j = find(e.r, token)
    end
    state(e, limit, false)
  elseif op == 'status' then
    settle(e, limit)
    state(e, limit, false)
  else
    return redis.error_reply('unknown op ' .. tostring(op))
  end
end
if op == 'reserve' or op == 'probe' then
  -- The settling is done and ok known: reserve, then report.
  local lns, ok = {}, out[1] == 1
  for i = 1, #KEYS / 3 do lns[i] = out[1 + i] end
  out = {out[1]}
  for i = 1, #KEYS / 3 do
    local e, limit = load(i), tonumber(ARGV[11 + 2 * i])
    if ok and op == 'reserve' then put(e.r, now_s, now_n, token) end
    state(e, limit, lns[i])
  end
end
if op ~= 'status' then
  for _, e in ipairs(loaded) do save(e) end
end
return out
`)
