"""PyTorch reference of the JointDiT architecture, named like the engine's bundles.

Plain ``torch.nn`` modules only; it runs on PyTorch 1.13 on the CPU.  Parameter names follow the
module paths diffusers/transformers use for the same structures (DESIGN.md section 6), so public
checkpoints map by prefix.
"""
