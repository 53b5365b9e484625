"""A learned adversary that never reads the specification.

It sees what a spec-blind method sees (the broken model, which it may read whole, and the
IIS), asks the solver about candidate edits, and learns from the train split which IIS
member is the fault (the *ranker*) and which edit repairs it exactly (the *search agent*).
The ground truth enters only as training labels (:mod:`.truth`); the specification never.
"""
