"""The task text: one source of truth for the LLM system prompt and the SFT instruction."""

from ordebug.actions import SIGNATURES

ACTION_HELP = """\
GET_IIS()                              show the current irreducible infeasible subsystem
INSPECT(name)                          a constraint's full row, or a variable's type, bounds and rows
SPEC(name)                             what the specification says about a row, row family, variable, table or entity
CHECK_SLACK(name)                      a row's activity and violation at a least-violation point
RELAX_CONSTRAINT(name, amount)         loosen a row's right-hand side(s) by amount > 0
DROP_CONSTRAINT(name)                  delete a row (last resort: it changes the model)
UPDATE_RHS(name, value)                set a row's right-hand side
FLIP_SENSE(name)                       turn <= into >= or >= into <=
SET_COEF(constraint, variable, value)  set one coefficient (0 removes the term)
UPDATE_BOUNDS(variable, lb, ub)        set a variable's bounds (inf / -inf allowed)
SET_VAR_TYPE(variable, C|I|B)          continuous, integer or binary
RESET()                                undo every edit
SUBMIT()                               finish: the solver checks the repaired model"""

assert all(line.split("(")[0] in SIGNATURES for line in ACTION_HELP.splitlines())

INSTRUCTION = f"""\
Debug the infeasible optimization model. The model was written from the specification shown \
(business statement, rules and data); somewhere it disagrees with it, and that makes it \
infeasible. Compare the members of the IIS with the specification, find the disagreement and \
repair it with the specification's own value, so that the model solves again with its \
original optimum. Delete a row only if the specification does not contain it; never loosen \
or delete a rule the specification states. Use one action per turn.

Actions:
{ACTION_HELP}

Answer with your reasoning inside <think>...</think>, then one line: Action: NAME(args)"""

SYSTEM_PROMPT = INSTRUCTION
