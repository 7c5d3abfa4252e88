"""One module per scene; each has build(rng, cfg, options) -> world.Scene."""

from . import bounce, flash, pendulum, rain, strike

SCENES = {
    "bounce": bounce.build,
    "strike": strike.build,
    "flash": flash.build,
    "pendulum": pendulum.build,
    "rain": rain.build,
}
