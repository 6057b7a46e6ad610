"""dlrhub: a multi-tenant hub for SMS delivery receipts.

The repository keeps one folder per part (``api/``, ``services/``, ``tasks/`` …); this
package names them ``dlrhub.api``, ``dlrhub.services``, ``dlrhub.tasks`` … through the
links beside this file, so that nothing generic lands in a user's site-packages.
"""

__version__ = "0.1.0"
