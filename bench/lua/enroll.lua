-- wrk script: POST enrollments of unique learners into random cohorts.
-- Arguments (after `--`): the file of cohort ids (one per line), and a prefix unique to the run.
-- Each thread gets its own id in setup(), so threads never produce the same learner or the
-- same random sequence. Authorization comes from wrk's -H.

local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end

function init(args)
  cohorts = {}
  for line in io.lines(args[1]) do
    if #line > 0 then cohorts[#cohorts + 1] = line end
  end
  prefix = args[2]
  sent = 0
  math.randomseed(tid * 7919 + 17)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local cohort = cohorts[math.random(#cohorts)]
  local body = string.format('{"learner":"%s-t%d-%d@bench.example"}', prefix, tid, sent)
  return wrk.format(nil, "/api/v1/cohorts/" .. cohort .. "/enrollments", nil, body)
end
