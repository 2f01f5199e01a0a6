"""Layer 2, the dataset: its row schema (declared once), writer, reader, loader, splits and inspection.

Imports numpy, h5py and torch only, never gymnasium or ale-py: downstream users load datasets on machines that
never run an emulator.
"""
