-- pgwarden approvals: every change to a request record, applied atomically inside Redis.
-- Mirrors src/approvals/decision-rules.ts (the memory store's rules) check for check.
-- Loaded by src/approvals/lua-scripts.ts (npm run build copies this file next to it in dist/).
-- Every key the script touches is declared in KEYS (Redis Cluster routes by them; with a hash-tagged prefix they share a slot).
--
-- Record layout (a hash at KEYS[1]):
--   id, base (the request JSON as created; never re-encoded here, because cjson turns [] into {}),
--   status, decisions (JSON array text, appended to as text), decided_at ('' while pending),
--   withdrawn_reason, requesters / approvers / voters / scopes ("\n"-delimited, identities lowercased by the caller;
--   approvers '' means anyone but the requester may decide), approvals (count), quorum, expires_ms,
--   holder (instance name/boot id of the process holding the client; its heartbeat key is <prefix>live:<holder>).
--
-- ARGV: [1] op, [2] event channel, [3] now_ms, [4] now_iso, [5] retention_ms, [6] unused, then per op.
-- Returns { code, flag ('1'|'0': settled by a vote, or finalized by this call), replayed ('1'|'0'), record JSON or '' }.

local op = ARGV[1]
local channel = ARGV[2]
local now_ms = tonumber(ARGV[3])
local now_iso = ARGV[4]
local retention_ms = tonumber(ARGV[5])
local k = KEYS[1]

local function has(list, item)
  return string.find(list, '\n' .. item .. '\n', 1, true) ~= nil
end

local function record_json()
  local h = redis.call('HMGET', k, 'base', 'status', 'decisions', 'decided_at', 'withdrawn_reason')
  if not h[1] then return '' end
  return '{"base":' .. h[1] .. ',"status":' .. cjson.encode(h[2]) .. ',"decisions":' .. h[3] ..
    ',"decided_at":' .. cjson.encode(h[4]) .. ',"withdrawn_reason":' .. cjson.encode(h[5] or '') .. '}'
end

local function publish(kind, rec)
  redis.call('PUBLISH', channel, '{"type":"' .. kind .. '","record":' .. rec .. '}')
end

-- Moves a pending record to a final status: out of the pending index (KEYS[2]), into the recent one (KEYS[3]),
-- kept for retention_ms. The recent index is trimmed to its size limit by the store's periodic prune, which also
-- deletes the records it drops.
local function settle(status, reason)
  local id = redis.call('HGET', k, 'id')
  redis.call('HSET', k, 'status', status, 'decided_at', now_iso)
  if reason then redis.call('HSET', k, 'withdrawn_reason', reason) end
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[3], now_ms, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now_ms - retention_ms)
  redis.call('PEXPIRE', k, retention_ms)
end

-- The holder's heartbeat key (declared by the caller) is gone: the process holding the client connection died or
-- lost Redis for longer than its heartbeat TTL, so nothing can run and nobody is waiting.
local function holder_lost(live_key, holder)
  local recorded = redis.call('HGET', k, 'holder')
  if not recorded or recorded == '' or recorded ~= holder then return false end
  return redis.call('EXISTS', live_key) == 0
end

local function lost_reply(flag)
  return { 'instance_lost', flag, '0', record_json() }
end

if op == 'create' then
  -- KEYS: [1] record, [2] pending index, [3] the creator's heartbeat key
  -- ARGV: [7] id, [8] base JSON, [9] requesters, [10] approvers, [11] quorum, [12] scopes, [13] expires_ms,
  --       [14] holder, [15] heartbeat TTL ms, [16] instance name
  if redis.call('EXISTS', k) == 1 then return { 'exists', '0', '0', '' } end
  local expires_ms = tonumber(ARGV[13])
  redis.call('HSET', k, 'id', ARGV[7], 'base', ARGV[8], 'status', 'pending', 'decisions', '[]', 'decided_at', '',
    'withdrawn_reason', '', 'requesters', ARGV[9], 'approvers', ARGV[10], 'voters', '\n', 'approvals', 0,
    'quorum', ARGV[11], 'scopes', ARGV[12], 'expires_ms', ARGV[13], 'holder', ARGV[14])
  -- The creator is alive right now: refresh its heartbeat with the record, so no sweeper can see one without the other.
  redis.call('SET', KEYS[3], ARGV[16], 'PX', ARGV[15])
  -- A pending record lives until its expiry plus retention, so that a sweeper can still find and record it.
  redis.call('PEXPIRE', k, math.max(expires_ms - now_ms, 0) + retention_ms)
  redis.call('ZADD', KEYS[2], expires_ms, ARGV[7])
  local rec = record_json()
  publish('created', rec)
  return { 'ok', '0', '0', rec }
end

if redis.call('EXISTS', k) == 0 then return { 'not_found', '0', '0', '' } end

if op == 'finalize' then
  -- KEYS: [1] record, [2] pending, [3] recent. ARGV: [7] status (expired | withdrawn), [8] withdrawn reason ('' for expired)
  if redis.call('HGET', k, 'status') ~= 'pending' then return { 'ok', '0', '0', record_json() } end
  if ARGV[7] == 'withdrawn' then settle('withdrawn', ARGV[8]) else settle('expired', nil) end
  local rec = record_json()
  publish('updated', rec)
  return { 'ok', '1', '0', rec }
end

if op == 'reap' then
  -- KEYS: [1] record, [2] pending, [3] recent, [4] the holder's heartbeat key. ARGV: [7] holder.
  -- Two sweepers racing on one request: the first withdraws it (flag '1') and records it; the second sees it final.
  if redis.call('HGET', k, 'status') ~= 'pending' then return { 'ok', '0', '0', record_json() } end
  if not holder_lost(KEYS[4], ARGV[7]) then return { 'alive', '0', '0', record_json() } end
  settle('withdrawn', 'instance_lost')
  local rec = record_json()
  publish('updated', rec)
  return { 'ok', '1', '0', rec }
end

if op ~= 'decide' then return redis.error_reply('pgwarden: unknown approvals op ' .. tostring(op)) end

-- KEYS: [1] record, [2] pending, [3] recent, [4] idempotency key of (request, approver, key), [5] the holder's heartbeat key
-- ARGV: [7] by (as given), [8] by lowercased, [9] approve | deny, [10] reason, [11] scope ('' none), [12] via ('' none),
--       [13] idempotency key ('' none), [14] hash of the decision body, [15] holder
local by_norm = ARGV[8]
local idem = ARGV[13]

if idem ~= '' then
  -- Keyed per approver: another approver's key is just an unused key here. The same key with another body is refused.
  local prev = redis.call('GET', KEYS[4])
  if prev then
    local sep = string.find(prev, '|', 1, true)
    local flag = string.sub(prev, 1, sep - 1)
    if string.sub(prev, sep + 1) ~= ARGV[14] then return { 'idempotency_mismatch', '0', '0', record_json() } end
    return { 'ok', flag, '1', record_json() }
  end
end

local status = redis.call('HGET', k, 'status')
if status ~= 'pending' then
  if status == 'withdrawn' and redis.call('HGET', k, 'withdrawn_reason') == 'instance_lost' then return lost_reply('0') end
  return { 'already_decided', '0', '0', record_json() }
end
if holder_lost(KEYS[5], ARGV[15]) then
  settle('withdrawn', 'instance_lost')
  local rec = record_json()
  publish('updated', rec)
  return { 'instance_lost', '1', '0', rec }
end
if now_ms >= tonumber(redis.call('HGET', k, 'expires_ms')) then
  settle('expired', nil)
  local rec = record_json()
  publish('updated', rec)
  return { 'already_decided', '0', '0', rec }
end
if by_norm == '' or has(redis.call('HGET', k, 'requesters'), by_norm) then return { 'self_approval', '0', '0', record_json() } end
local approvers = redis.call('HGET', k, 'approvers')
if approvers ~= '' and not has(approvers, by_norm) then return { 'not_approver', '0', '0', record_json() } end
local voters = redis.call('HGET', k, 'voters')
if has(voters, by_norm) then return { 'duplicate_vote', '0', '0', record_json() } end

local decision = { by = ARGV[7], decision = ARGV[9], reason = ARGV[10], at = now_iso }
if ARGV[9] == 'approve' then
  -- A narrower scope than asked for is always safe: fingerprint only where the rule offers it.
  if ARGV[11] == 'fingerprint' and has(redis.call('HGET', k, 'scopes'), 'fingerprint') then decision.scope = 'fingerprint' else decision.scope = 'once' end
end
if ARGV[12] ~= '' then decision.via = ARGV[12] end
local encoded = cjson.encode(decision)
local decisions = redis.call('HGET', k, 'decisions')
if decisions == '[]' then decisions = '[' .. encoded .. ']' else decisions = string.sub(decisions, 1, -2) .. ',' .. encoded .. ']' end
redis.call('HSET', k, 'decisions', decisions, 'voters', voters .. by_norm .. '\n')

local settled = '0'
if ARGV[9] == 'deny' then
  settle('denied', nil)
  settled = '1'
else
  local approvals = redis.call('HINCRBY', k, 'approvals', 1)
  if approvals >= math.max(1, tonumber(redis.call('HGET', k, 'quorum'))) then
    settle('approved', nil)
    settled = '1'
  end
end
if idem ~= '' then redis.call('SET', KEYS[4], settled .. '|' .. ARGV[14], 'PX', retention_ms) end
local rec = record_json()
publish('updated', rec)
return { 'ok', settled, '0', rec }
